-- What processing learnt about a picture, video, sound or document (issue 16), shown as the
-- upload JSON's `media`. Each column is NULL where it does not apply (an audio file has no
-- width, an image no duration, only PDFs have pages) or where the decoder could not tell.
ALTER TABLE uploads ADD COLUMN media_width integer;        -- displayed size: orientation/rotation applied
ALTER TABLE uploads ADD COLUMN media_height integer;
ALTER TABLE uploads ADD COLUMN media_duration_ms bigint;   -- audio and video
ALTER TABLE uploads ADD COLUMN media_pages integer;        -- PDF page count
ALTER TABLE uploads ADD COLUMN media_placeholder text;     -- ThumbHash, base64 (~25 bytes): images, video posters, PDF first pages
