-- /job list filters: budget ranges and the largest-budget-first order over a guild's open
-- jobs read this index instead of every open job of the guild.
CREATE INDEX jobs_guild_status_budget ON jobs (guild_id, status, budget);
