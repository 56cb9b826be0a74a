-- Issue 13, item 6: PDFs with JavaScript, launch actions or embedded files are flagged, and served
-- only as attachments. NULL: not inspected for active content (not a PDF, or processed before
-- this column existed — such PDFs are served as attachments too: fail closed).
ALTER TABLE uploads ADD COLUMN active_content boolean;
