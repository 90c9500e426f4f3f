-- An organisation feed shows its owner's organisation as of each request, never the one the
-- owner had when the feed was made: the stored organisation is no longer written or read.
-- Forget the values kept so far; the column stays, unused.
UPDATE feed_tokens SET org = NULL;
