-- The database of a workspace made by ruqi before migration 4 (commit b43c139): schema version 3,
-- two visits registered by that release.  Used by tests/test_migrations.py to upgrade it.
BEGIN;
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE visits (
	id INTEGER NOT NULL, 
	serial VARCHAR(32) NOT NULL, 
	year INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	enterprise VARCHAR(200) NOT NULL, 
	uscc VARCHAR(18) NOT NULL, 
	county VARCHAR(50) NOT NULL, 
	county_code VARCHAR(6) NOT NULL, 
	industry VARCHAR(20) NOT NULL, 
	grade VARCHAR(10) NOT NULL, 
	kind VARCHAR(10) NOT NULL, 
	basis VARCHAR(500) NOT NULL, 
	joint_units VARCHAR(500) NOT NULL, 
	start DATE NOT NULL, 
	"end" DATE NOT NULL, 
	leader VARCHAR(50) NOT NULL, 
	members JSON NOT NULL, 
	experts JSON NOT NULL, 
	content VARCHAR(2000) NOT NULL, 
	benchmark BOOLEAN NOT NULL, 
	key_supervision BOOLEAN NOT NULL, 
	visit_total INTEGER NOT NULL, 
	visit_kind INTEGER NOT NULL, 
	issue_date DATE NOT NULL, 
	batch VARCHAR(64) NOT NULL, 
	over_cap BOOLEAN NOT NULL, 
	override_reason VARCHAR(1000) NOT NULL, 
	created_at DATETIME NOT NULL, 
	actor VARCHAR(100) NOT NULL, 
	card_status VARCHAR(20) NOT NULL, 
	card_received_at DATETIME, 
	card_version INTEGER NOT NULL, 
	card_answers JSON, 
	card_flags JSON, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_visit_natural UNIQUE (uscc, kind, start, "end")
);
CREATE INDEX ix_visits_uscc ON visits (uscc);
CREATE UNIQUE INDEX ix_visits_serial ON visits (serial);
CREATE INDEX ix_visits_year ON visits (year);
CREATE TABLE stats_rounds (
	id INTEGER NOT NULL, 
	table_no INTEGER NOT NULL, 
	period VARCHAR(8) NOT NULL, 
	due DATE, 
	unit_codes JSON NOT NULL, 
	issued_at DATETIME NOT NULL, 
	actor VARCHAR(100) NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_stats_round UNIQUE (table_no, period)
);
CREATE TABLE stats_submissions (
	id INTEGER NOT NULL, 
	table_no INTEGER NOT NULL, 
	period VARCHAR(8) NOT NULL, 
	unit_code VARCHAR(16) NOT NULL, 
	unit_name VARCHAR(100) NOT NULL, 
	submitter VARCHAR(200) NOT NULL, 
	filled_at VARCHAR(40) NOT NULL, 
	source_name VARCHAR(500) NOT NULL, 
	archive_ref VARCHAR(1000) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	via VARCHAR(16) NOT NULL, 
	received_at DATETIME NOT NULL, 
	"values" JSON NOT NULL, 
	flags JSON NOT NULL, 
	version INTEGER NOT NULL, 
	superseded BOOLEAN NOT NULL, 
	superseded_by INTEGER, 
	actor VARCHAR(100) NOT NULL, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_stats_submissions_sha256 ON stats_submissions (sha256);
CREATE INDEX ix_stats_current ON stats_submissions (table_no, period, unit_code, superseded);
CREATE TABLE archive_items (
	id INTEGER NOT NULL, 
	archival_code VARCHAR(64) NOT NULL, 
	year INTEGER NOT NULL, 
	piece INTEGER NOT NULL, 
	retention VARCHAR(8) NOT NULL, 
	form_type VARCHAR(32) NOT NULL, 
	title TEXT NOT NULL, 
	responsible TEXT NOT NULL, 
	doc_date DATE NOT NULL, 
	serial VARCHAR(64) NOT NULL, 
	enterprise TEXT NOT NULL, 
	uscc VARCHAR(64) NOT NULL, 
	county TEXT NOT NULL, 
	original_name TEXT NOT NULL, 
	rel_path VARCHAR(1000) NOT NULL, 
	format VARCHAR(16) NOT NULL, 
	format_version VARCHAR(32) NOT NULL, 
	size BIGINT NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	sm3 VARCHAR(64) NOT NULL, 
	version INTEGER NOT NULL, 
	supersedes INTEGER, 
	flags JSON NOT NULL, 
	extra JSON NOT NULL, 
	received_at DATETIME, 
	filed_at DATETIME NOT NULL, 
	actor TEXT NOT NULL, 
	audit_seq INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_archive_piece UNIQUE (year, piece), 
	UNIQUE (archival_code), 
	UNIQUE (rel_path)
);
CREATE INDEX ix_archive_items_uscc ON archive_items (uscc);
CREATE INDEX ix_archive_items_doc_date ON archive_items (doc_date);
CREATE INDEX ix_archive_items_year ON archive_items (year);
CREATE INDEX ix_archive_items_serial ON archive_items (serial);
CREATE INDEX ix_archive_items_form_type ON archive_items (form_type);
CREATE INDEX ix_archive_items_sha256 ON archive_items (sha256);
CREATE TABLE archive_audit (
	seq INTEGER NOT NULL, 
	at VARCHAR(40) NOT NULL, 
	actor TEXT NOT NULL, 
	action VARCHAR(32) NOT NULL, 
	object TEXT NOT NULL, 
	details TEXT NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (seq)
);
CREATE INDEX ix_archive_audit_action ON archive_audit (action);
INSERT INTO "schema_version" VALUES(1);
INSERT INTO "schema_version" VALUES(2);
INSERT INTO "schema_version" VALUES(3);
INSERT INTO "visits" VALUES(1,'140200-2025-0001',2025,1,'大同市平城区恒泰机械制造有限公司','91140200MA0K123454','平城区','140213','非高危行业','二级','执法检查','《2025年度监督检查计划》','','2025-03-10','2025-03-11','张建国','["\u674e\u660e", "\u738b\u82b3", "\u8d75\u5f3a"]','["\u5b59\u4f1f"]','粉尘防爆',0,0,1,1,'2025-03-01','20261203-133541_h5-oldplan',0,'','2026-12-03 13:35:41.390645','root','none',NULL,0,NULL,NULL);
INSERT INTO "visits" VALUES(2,'140200-2025-0002',2025,2,'大同市平城区恒泰机械制造有限公司','91140200MA0K123454','平城区','140213','非高危行业','二级','督导检查','《2025年度监督检查计划》','','2025-11-17','2025-11-18','张建国','["\u674e\u660e", "\u738b\u82b3", "\u8d75\u5f3a"]','["\u5b59\u4f1f"]','粉尘防爆',0,0,2,1,'2025-03-01','20261203-133541_h5-oldplan',0,'','2026-12-03 13:35:41.395336','root','none',NULL,0,NULL,NULL);
COMMIT;
