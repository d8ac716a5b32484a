-- The schema release 0.1.0 (commit ee848d8) made on sqlite: the DDL of its
-- davserver/tables.py metadata.create_all, compiled for sqlite by SQLAlchemy.
CREATE TABLE users (
	name VARCHAR(64) NOT NULL,
	email VARCHAR(254),
	role VARCHAR(16) NOT NULL,
	password_hash VARCHAR(255),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (name),
	UNIQUE (email)
);

CREATE TABLE teams (
	name VARCHAR(64) NOT NULL,
	PRIMARY KEY (name)
);

CREATE TABLE published_calendars (
	collection VARCHAR(512) NOT NULL,
	owner VARCHAR(64) NOT NULL,
	token VARCHAR(64) NOT NULL,
	mode VARCHAR(16) NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (collection),
	UNIQUE (token)
);

CREATE INDEX ix_published_calendars_owner ON published_calendars (owner);

CREATE TABLE reminder_scans (
	name VARCHAR(32) NOT NULL,
	scanned_to INTEGER NOT NULL,
	PRIMARY KEY (name)
);

CREATE TABLE reminders_sent (
	"key" VARCHAR(64) NOT NULL,
	owner VARCHAR(64) NOT NULL,
	fire_at INTEGER NOT NULL,
	PRIMARY KEY ("key")
);

CREATE INDEX ix_reminders_sent_fire_at ON reminders_sent (fire_at);

CREATE TABLE reminder_stop_links (
	digest VARCHAR(64) NOT NULL,
	owner VARCHAR(64) NOT NULL,
	alarm_key VARCHAR(64) NOT NULL,
	summary VARCHAR(500) NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (digest)
);

CREATE INDEX ix_reminder_stop_links_created_at ON reminder_stop_links (created_at);

CREATE INDEX ix_reminder_stop_links_alarm_key ON reminder_stop_links (alarm_key);

CREATE TABLE reminders_stopped (
	alarm_key VARCHAR(64) NOT NULL,
	owner VARCHAR(64) NOT NULL,
	stopped_at INTEGER NOT NULL,
	PRIMARY KEY (alarm_key)
);

CREATE TABLE hidden_duplicate_groups (
	addressbook VARCHAR(512) NOT NULL,
	group_id VARCHAR(16) NOT NULL,
	owner VARCHAR(64) NOT NULL,
	hidden_at INTEGER NOT NULL,
	PRIMARY KEY (addressbook, group_id)
);

CREATE INDEX ix_hidden_duplicate_groups_owner ON hidden_duplicate_groups (owner);

CREATE TABLE duplicate_merges (
	id VARCHAR(32) NOT NULL,
	owner VARCHAR(64) NOT NULL,
	addressbook VARCHAR(512) NOT NULL,
	"before" TEXT NOT NULL,
	"after" TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_duplicate_merges_created_at ON duplicate_merges (created_at);

CREATE INDEX ix_duplicate_merges_owner ON duplicate_merges (owner);

CREATE TABLE import_mailboxes (
	id INTEGER NOT NULL,
	account VARCHAR(254) NOT NULL,
	folder VARCHAR(1000) NOT NULL,
	uidvalidity BIGINT NOT NULL,
	indexed_to BIGINT NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (account, folder)
);

CREATE TABLE import_progress (
	job VARCHAR(32) NOT NULL,
	folder VARCHAR(1000) NOT NULL,
	destination VARCHAR(1000) NOT NULL,
	uidvalidity BIGINT NOT NULL,
	last_uid BIGINT NOT NULL,
	copied INTEGER NOT NULL,
	skipped INTEGER NOT NULL,
	failed INTEGER NOT NULL,
	bytes BIGINT NOT NULL,
	PRIMARY KEY (job, folder)
);

CREATE TABLE import_jobs (
	id VARCHAR(32) NOT NULL,
	source_host VARCHAR(255) NOT NULL,
	source_port INTEGER NOT NULL,
	source_security VARCHAR(8) NOT NULL,
	source_login VARCHAR(254) NOT NULL,
	source_password BLOB,
	destination_login VARCHAR(254) NOT NULL,
	destination_password BLOB,
	prefix VARCHAR(255),
	state VARCHAR(16) NOT NULL,
	error TEXT,
	cancel_requested BOOLEAN NOT NULL,
	total_messages INTEGER,
	created_at INTEGER NOT NULL,
	started_at INTEGER,
	finished_at INTEGER,
	PRIMARY KEY (id)
);

CREATE INDEX ix_import_jobs_state ON import_jobs (state);

CREATE TABLE openpgp_keys (
	address VARCHAR(254) NOT NULL,
	fingerprint VARCHAR(40) NOT NULL,
	key_version INTEGER NOT NULL,
	public_key BLOB NOT NULL,
	wrapped_private_key BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (address),
	UNIQUE (fingerprint)
);

CREATE TABLE openpgp_kek_check (
	id INTEGER NOT NULL,
	check_value BLOB NOT NULL,
	PRIMARY KEY (id)
);

CREATE TABLE secure_messages (
	id VARCHAR(32) NOT NULL,
	link_digest VARCHAR(64) NOT NULL,
	sender VARCHAR(254) NOT NULL,
	recipient VARCHAR(254) NOT NULL,
	subject TEXT NOT NULL,
	kdf VARCHAR(64) NOT NULL,
	salt BLOB NOT NULL,
	sealed BLOB,
	failures INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER,
	retry_key VARCHAR(64),
	PRIMARY KEY (id)
);

CREATE INDEX ix_secure_messages_sender ON secure_messages (sender);

CREATE INDEX ix_secure_messages_expires_at ON secure_messages (expires_at);

CREATE INDEX ix_secure_messages_retry_key ON secure_messages (retry_key);

CREATE TABLE scheduling_copies (
	uid VARCHAR(512) NOT NULL,
	user VARCHAR(64) NOT NULL,
	path VARCHAR(1024) NOT NULL,
	role VARCHAR(10) NOT NULL,
	PRIMARY KEY (uid, user)
);

CREATE TABLE scheduling_mail (
	id INTEGER NOT NULL,
	kind VARCHAR(16) NOT NULL,
	recipient VARCHAR(254) NOT NULL,
	organiser VARCHAR(64) NOT NULL,
	payload TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	attempts INTEGER NOT NULL,
	next_attempt_at INTEGER NOT NULL,
	sent_at INTEGER,
	error TEXT,
	PRIMARY KEY (id)
);

CREATE INDEX ix_scheduling_mail_sent_at ON scheduling_mail (sent_at);

CREATE INDEX ix_scheduling_mail_next_attempt_at ON scheduling_mail (next_attempt_at);

CREATE TABLE scheduling_answer_links (
	digest VARCHAR(64) NOT NULL,
	organiser VARCHAR(64) NOT NULL,
	uid VARCHAR(512) NOT NULL,
	attendee VARCHAR(254) NOT NULL,
	sequence INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	used_at INTEGER,
	PRIMARY KEY (digest)
);

CREATE INDEX ix_scheduling_answer_links_created_at ON scheduling_answer_links (created_at);

CREATE INDEX ix_scheduling_answer_links_uid ON scheduling_answer_links (uid);

CREATE TABLE scheduling_tags (
	path VARCHAR(1024) NOT NULL,
	tag VARCHAR(64) NOT NULL,
	PRIMARY KEY (path)
);

CREATE TABLE team_members (
	team VARCHAR(64) NOT NULL,
	user VARCHAR(64) NOT NULL,
	PRIMARY KEY (team, user),
	FOREIGN KEY(team) REFERENCES teams (name),
	FOREIGN KEY(user) REFERENCES users (name)
);

CREATE INDEX ix_team_members_user ON team_members (user);

CREATE TABLE app_passwords (
	id VARCHAR(32) NOT NULL,
	user VARCHAR(64) NOT NULL,
	label VARCHAR(100) NOT NULL,
	digest VARCHAR(80) NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (user, label),
	FOREIGN KEY(user) REFERENCES users (name),
	UNIQUE (digest)
);

CREATE INDEX ix_app_passwords_user ON app_passwords (user);

CREATE TABLE shares (
	id INTEGER NOT NULL,
	collection VARCHAR(512) NOT NULL,
	owner VARCHAR(64) NOT NULL,
	target_kind VARCHAR(8) NOT NULL,
	target_name VARCHAR(64) NOT NULL,
	access VARCHAR(8) NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (collection, target_kind, target_name),
	FOREIGN KEY(owner) REFERENCES users (name)
);

CREATE INDEX ix_shares_owner ON shares (owner);

CREATE INDEX ix_shares_collection ON shares (collection);

CREATE TABLE import_identities (
	mailbox INTEGER NOT NULL,
	identity VARCHAR(64) NOT NULL,
	PRIMARY KEY (mailbox, identity),
	FOREIGN KEY(mailbox) REFERENCES import_mailboxes (id)
);

CREATE INDEX ix_import_identities_identity ON import_identities (identity);

CREATE TABLE openpgp_recipient_keys (
	owner VARCHAR(64) NOT NULL,
	address VARCHAR(254) NOT NULL,
	fingerprint VARCHAR(40) NOT NULL,
	public_key BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (owner, address),
	FOREIGN KEY(owner) REFERENCES users (name) ON DELETE CASCADE
);
