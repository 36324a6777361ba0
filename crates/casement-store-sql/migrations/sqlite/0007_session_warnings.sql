-- What the administrator should know about a session (the device could not process a message,
-- package 1 named another device, …): a JSON array of sentences, NULL when there is none.
ALTER TABLE sessions ADD COLUMN warnings TEXT;
