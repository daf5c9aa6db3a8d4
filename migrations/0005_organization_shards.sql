-- Migration number: 0005 	 which database holds an organization's data
-- The same file is applied to D1 by `wrangler d1 migrations apply` and to SQLite files at start-up.
--
-- On Cloudflare an organization's users, events, checkpoints and idempotency keys live in one of several D1
-- databases (bindings DB, DB_1, DB_2, ...: shard 0, 1, 2, ...): one D1 database has one writer and at most 10 GB.
-- The directory (the database bound as DB) keeps the organizations and API keys, and says here which shard each
-- organization's data is in (src/layers/d1.ts); NULL while the organization is being moved to another shard
-- (its requests are answered 503, docs/PRODUCTION.md). Every shard has the whole schema; an organization on shard N
-- also has its row in shard N's organizations table, for the foreign keys. An SQLite file is one shard: all 0.
ALTER TABLE organizations ADD COLUMN shard INTEGER DEFAULT 0 CHECK (shard IS NULL OR shard >= 0);
