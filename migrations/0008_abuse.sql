-- The job categories moderators allow (/config categories), in their order: only these become
-- forum tags, so that one user posting many categories cannot take all of a forum's tags.
CREATE TABLE guild_categories (
    guild_id INTEGER NOT NULL REFERENCES guilds(guild_id),
    position INTEGER NOT NULL,
    name     TEXT    NOT NULL,
    PRIMARY KEY (guild_id, position)
);
