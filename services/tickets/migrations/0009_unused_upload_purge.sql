-- Uploads that no ticket or reply ever used (the request that should have used them
-- failed or was abandoned) are deleted after a grace period by the tickets service.
GRANT DELETE ON tickets.attachment_blobs TO {app_role};
CREATE INDEX attachment_blobs_uploaded_at ON tickets.attachment_blobs (uploaded_at);
