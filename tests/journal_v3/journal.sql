BEGIN TRANSACTION;
CREATE TABLE actions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sync_id TEXT NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,
        created REAL NOT NULL, updated REAL NOT NULL);
INSERT INTO "actions" VALUES(1,'2026-11-16T07:00:00-05:00-32368','create','hold-ggcwii-1-1a4403b3c1@boundaryd','hold:ggcwii-1','done',1.79613251278926134104e+09,1.79613251281429648397e+09);
INSERT INTO "actions" VALUES(2,'2026-11-16T07:00:00-05:00-32368','create','hold-ggcwii-2-3ca50f5b4e@boundaryd','hold:ggcwii-2','done',1.79613251279073405262e+09,1.79613251281472086906e+09);
INSERT INTO "actions" VALUES(3,'2026-11-16T07:00:00-05:00-32368','create','hold-wg5kx4-1-9a86fef5c8@boundaryd','hold:wg5kx4-1','done',1.79613251279172897335e+09,1796132512.81505);
INSERT INTO "actions" VALUES(4,'2026-11-16T07:00:00-05:00-32368','create','hold-wg5kx4-2-e2dae373cb@boundaryd','hold:wg5kx4-2','done',1.79613251279275822642e+09,1.79613251281534290308e+09);
INSERT INTO "actions" VALUES(5,'2026-11-16T07:00:00-05:00-32368','create','makeup-prospecting-2026-11-17T13-00-254e20cdd9@boundaryd','makeup:prospecting@2026-11-17T13:00','done',1.79613251279414176935e+09,1.79613251281554245951e+09);
INSERT INTO "actions" VALUES(6,'2026-11-16T07:00:00-05:00-32368','create','makeup-prospecting-2026-11-24T13-00-53ac47fde2@boundaryd','makeup:prospecting@2026-11-24T13:00','done',1.79613251279729700085e+09,1.79613251281576943394e+09);
INSERT INTO "actions" VALUES(7,'2026-11-16T07:00:00-05:00-32368','create','makeup-prospecting-2026-11-25T13-00-54eaaeba77@boundaryd','makeup:prospecting@2026-11-25T13:00','done',1.79613251279961133001e+09,1.79613251281597113614e+09);
INSERT INTO "actions" VALUES(8,'2026-11-16T07:00:00-05:00-32368','create','makeup-prospecting-2026-11-26T13-00-196eeab970@boundaryd','makeup:prospecting@2026-11-26T13:00','done',1.79613251280057954783e+09,1.79613251281690883632e+09);
INSERT INTO "actions" VALUES(9,'2026-11-16T07:00:00-05:00-32368','create','prospecting-0830@boundaryd','prospecting','done',1.79613251280147194857e+09,1.79613251281890249255e+09);
INSERT INTO "actions" VALUES(10,'2026-11-16T07:00:00-05:00-32368','decline','bob-prev@t','','done',1.79613251280255484579e+09,1.79613251281914305685e+09);
INSERT INTO "actions" VALUES(11,'2026-11-16T07:00:00-05:00-32368','decline','bob@t','','done',1.79613251280344724653e+09,1.79613251281946516039e+09);
INSERT INTO "actions" VALUES(12,'2026-11-18T12:00:00-05:00-32368','delete','hold-ggcwii-1-1a4403b3c1@boundaryd','hold:ggcwii-1','done',1.7961325129068260193e+09,1796132512.9363);
INSERT INTO "actions" VALUES(13,'2026-11-18T12:00:00-05:00-32368','delete','hold-ggcwii-2-3ca50f5b4e@boundaryd','hold:ggcwii-2','done',1.79613251291413617135e+09,1.79613251293722558021e+09);
INSERT INTO "actions" VALUES(14,'2026-11-18T12:00:00-05:00-32368','delete','hold-wg5kx4-1-9a86fef5c8@boundaryd','hold:wg5kx4-1','done',1.79613251292196178434e+09,1.79613251293761467934e+09);
INSERT INTO "actions" VALUES(15,'2026-11-18T12:00:00-05:00-32368','delete','hold-wg5kx4-2-e2dae373cb@boundaryd','hold:wg5kx4-2','done',1.79613251293004178997e+09,1.79613251293800711629e+09);
CREATE TABLE allows (uid TEXT NOT NULL, recurrence_id TEXT, until TEXT, created REAL NOT NULL);
CREATE TABLE applied (block_key TEXT NOT NULL, uid TEXT NOT NULL, recurrence_id TEXT NOT NULL,
        at REAL NOT NULL, PRIMARY KEY (block_key, uid, recurrence_id));
INSERT INTO "applied" VALUES('prospecting:c9ae80bb7ebe3e2e','bob-prev@t','',1.79613251278872632977e+09);
INSERT INTO "applied" VALUES('prospecting:c9ae80bb7ebe3e2e','bob@t','',1.79613251278872632977e+09);
INSERT INTO "applied" VALUES('prospecting:c9ae80bb7ebe3e2e','pat@t','',1.79613251278872632977e+09);
INSERT INTO "applied" VALUES('prospecting:c9ae80bb7ebe3e2e','vip-prev@t','',1.79613251278872632977e+09);
INSERT INTO "applied" VALUES('prospecting:c9ae80bb7ebe3e2e','vip-thu@t','',1.79613251278872632977e+09);
INSERT INTO "applied" VALUES('prospecting:c9ae80bb7ebe3e2e','vip-tue@t','',1.79613251278872632977e+09);
INSERT INTO "applied" VALUES('prospecting:c9ae80bb7ebe3e2e','','',1.79613251278872632977e+09);
CREATE TABLE decline_requests (uid TEXT NOT NULL, recurrence_id TEXT NOT NULL, at REAL NOT NULL,
        PRIMARY KEY (uid, recurrence_id));
CREATE TABLE declined (uid TEXT NOT NULL, recurrence_id TEXT NOT NULL, previous TEXT NOT NULL,
        told TEXT NOT NULL, state TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (uid, recurrence_id));
INSERT INTO "declined" VALUES('bob-prev@t','','NEEDS-ACTION','outbox','declined',1.79613251281974101061e+09);
INSERT INTO "declined" VALUES('bob@t','','NEEDS-ACTION','outbox','declined',1.79613251282002925877e+09);
CREATE TABLE digest (key TEXT PRIMARY KEY, payload TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE holds (key TEXT PRIMARY KEY, uid TEXT NOT NULL, recurrence_id TEXT NOT NULL,
    organizer TEXT NOT NULL, summary TEXT NOT NULL, start TEXT NOT NULL, "end" TEXT NOT NULL,
    expires TEXT NOT NULL, all_day INTEGER NOT NULL, at REAL NOT NULL);
CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE ledger (kind TEXT NOT NULL, key TEXT NOT NULL, block TEXT NOT NULL,
    start TEXT NOT NULL, "end" TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (kind, key));
INSERT INTO "ledger" VALUES('lost','prospecting|vip-prev@t||2026-11-17T08:30:00-05:00','prospecting','2026-11-17T09:00:00-05:00','2026-11-17T10:00:00-05:00',1796132512.70633);
INSERT INTO "ledger" VALUES('makeup','prospecting@2026-11-17T13:00','prospecting','2026-11-17T13:00:00-05:00','2026-11-17T14:00:00-05:00',1796132512.70633);
INSERT INTO "ledger" VALUES('lost','prospecting|vip-tue@t||2026-11-24T08:30:00-05:00','prospecting','2026-11-24T09:00:00-05:00','2026-11-24T10:00:00-05:00',1796132512.70633);
INSERT INTO "ledger" VALUES('makeup','prospecting@2026-11-24T13:00','prospecting','2026-11-24T13:00:00-05:00','2026-11-24T14:00:00-05:00',1796132512.70633);
INSERT INTO "ledger" VALUES('makeup','prospecting@2026-11-25T13:00','prospecting','2026-11-25T13:00:00-05:00','2026-11-25T14:00:00-05:00',1796132512.70633);
INSERT INTO "ledger" VALUES('lost','prospecting|vip-thu@t||2026-11-26T08:30:00-05:00','prospecting','2026-11-26T09:00:00-05:00','2026-11-26T10:00:00-05:00',1796132512.70633);
INSERT INTO "ledger" VALUES('makeup','prospecting@2026-11-26T13:00','prospecting','2026-11-26T13:00:00-05:00','2026-11-26T13:30:00-05:00',1796132512.70633);
INSERT INTO "ledger" VALUES('lost','prospecting|pat@t||2026-11-27T08:30:00-05:00','prospecting','2026-11-27T09:00:00-05:00','2026-11-27T09:30:00-05:00',1796132512.70633);
CREATE TABLE ledger_items (kind TEXT NOT NULL, uid TEXT NOT NULL, rid TEXT NOT NULL,
    week TEXT NOT NULL, start TEXT NOT NULL, "end" TEXT NOT NULL, all_day INTEGER NOT NULL,
    person TEXT NOT NULL, decision TEXT NOT NULL, block TEXT NOT NULL, lost INTEGER NOT NULL,
    PRIMARY KEY (kind, uid, rid));
INSERT INTO "ledger_items" VALUES('meeting','vip-prev@t','','2026-11-16','2026-11-17T14:00:00+00:00','2026-11-17T15:00:00+00:00',0,'ceo@bigclient.com','allow','prospecting',60);
INSERT INTO "ledger_items" VALUES('meeting','bob-prev@t','','2026-11-16','2026-11-18T14:00:00+00:00','2026-11-18T14:30:00+00:00',0,'bob@client.example','decline','prospecting',0);
INSERT INTO "ledger_items" VALUES('meeting','vip-tue@t','','2026-11-23','2026-11-24T14:00:00+00:00','2026-11-24T15:00:00+00:00',0,'ceo@bigclient.com','allow','prospecting',60);
INSERT INTO "ledger_items" VALUES('meeting','bob@t','','2026-11-23','2026-11-24T15:00:00+00:00','2026-11-24T15:30:00+00:00',0,'bob@client.example','decline','prospecting',0);
INSERT INTO "ledger_items" VALUES('meeting','vip-thu@t','','2026-11-23','2026-11-26T14:00:00+00:00','2026-11-26T15:00:00+00:00',0,'ceo@bigclient.com','allow','prospecting',60);
INSERT INTO "ledger_items" VALUES('meeting','pat@t','','2026-11-23','2026-11-27T14:00:00+00:00','2026-11-27T14:30:00+00:00',0,'pat@bigclient.com','allow','prospecting',30);
INSERT INTO "ledger_items" VALUES('makeup','makeup-prospecting-2026-11-24T13-00-53ac47fde2@boundaryd','','2026-11-23','2026-11-24T18:00:00+00:00','2026-11-24T19:00:00+00:00',0,'','','prospecting',0);
INSERT INTO "ledger_items" VALUES('makeup','makeup-prospecting-2026-11-25T13-00-54eaaeba77@boundaryd','','2026-11-23','2026-11-25T18:00:00+00:00','2026-11-25T19:00:00+00:00',0,'','','prospecting',0);
INSERT INTO "ledger_items" VALUES('makeup','makeup-prospecting-2026-11-26T13-00-196eeab970@boundaryd','','2026-11-23','2026-11-26T18:00:00+00:00','2026-11-26T18:30:00+00:00',0,'','','prospecting',0);
CREATE TABLE ledger_weeks (week TEXT NOT NULL, block TEXT NOT NULL, title TEXT NOT NULL,
    target INTEGER, planned INTEGER NOT NULL, lost INTEGER NOT NULL, made_up INTEGER NOT NULL,
    PRIMARY KEY (week, block));
INSERT INTO "ledger_weeks" VALUES('2026-11-16','prospecting','Prospecting calls',750,750,60,0);
INSERT INTO "ledger_weeks" VALUES('2026-11-30','prospecting','Prospecting calls',750,750,0,0);
INSERT INTO "ledger_weeks" VALUES('2026-11-23','prospecting','Prospecting calls',750,750,150,150);
INSERT INTO "ledger_weeks" VALUES('2026-12-07','prospecting','Prospecting calls',750,750,0,0);
CREATE TABLE messages (
        key TEXT PRIMARY KEY, kind TEXT NOT NULL, sync_id TEXT NOT NULL,
        state TEXT NOT NULL,            -- intent | queued
        depends TEXT NOT NULL,          -- JSON list of occurrence keys whose decline it reports
        notified TEXT NOT NULL,         -- JSON list of notified rows to record when it is queued
        body BLOB NOT NULL, created REAL NOT NULL);
INSERT INTO "messages" VALUES('reply-f6ede302b28d641473915f0840ec2e7a','reply','2026-11-16T07:00:00-05:00-32368','queued','[["bob-prev@t", ""]]','[]',X'',1.79613251278801131253e+09);
INSERT INTO "messages" VALUES('reply-f861a89cd2e29a5860289fab3a46aaca','reply','2026-11-16T07:00:00-05:00-32368','queued','[["bob@t", ""]]','[]',X'',1.79613251278801131253e+09);
INSERT INTO "messages" VALUES('notice-c60fdb0750f9ce270fa75bf874896a7a','notice','2026-11-16T07:00:00-05:00-32368','queued','[["bob-prev@t", ""], ["bob@t", ""]]','[{"key": "68b5a6a7e5b96e3c3b04aec2c99ac70f", "uid": "bob-prev@t", "recurrence_id": "", "block": "prospecting", "decision": "decline", "start": "2026-11-18T09:00:00-05:00", "end": "2026-11-18T09:30:00-05:00"}, {"key": "bd1e8363d19e72ed8a8e143d84f139a6", "uid": "bob@t", "recurrence_id": "", "block": "prospecting", "decision": "decline", "start": "2026-11-24T10:00:00-05:00", "end": "2026-11-24T10:30:00-05:00"}, {"key": "6e4ac5500dcd27fb2df4a0bae56cdd0e", "uid": "vip-prev@t", "recurrence_id": "", "block": "prospecting", "decision": "allow", "start": "2026-11-17T09:00:00-05:00", "end": "2026-11-17T10:00:00-05:00"}, {"key": "e570c15ccdaa198b197f7c23bd68429e", "uid": "vip-tue@t", "recurrence_id": "", "block": "prospecting", "decision": "allow", "start": "2026-11-24T09:00:00-05:00", "end": "2026-11-24T10:00:00-05:00"}, {"key": "1b2eb0ba3835f48fddc43a79bc97ba68", "uid": "vip-thu@t", "recurrence_id": "", "block": "prospecting", "decision": "allow", "start": "2026-11-26T09:00:00-05:00", "end": "2026-11-26T10:00:00-05:00"}, {"key": "52c13c206c6e49daa4aceda16614abcd", "uid": "pat@t", "recurrence_id": "", "block": "prospecting", "decision": "allow", "start": "2026-11-27T09:00:00-05:00", "end": "2026-11-27T09:30:00-05:00"}]',X'',1.79613251278801131253e+09);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "meta" VALUES('schema_version','3');
CREATE TABLE notified (key TEXT PRIMARY KEY, uid TEXT NOT NULL, recurrence_id TEXT NOT NULL,
        block TEXT NOT NULL, decision TEXT NOT NULL, start TEXT NOT NULL, "end" TEXT NOT NULL,
        at REAL NOT NULL);
INSERT INTO "notified" VALUES('68b5a6a7e5b96e3c3b04aec2c99ac70f','bob-prev@t','','prospecting','decline','2026-11-18T09:00:00-05:00','2026-11-18T09:30:00-05:00',1.79613251282900500296e+09);
INSERT INTO "notified" VALUES('bd1e8363d19e72ed8a8e143d84f139a6','bob@t','','prospecting','decline','2026-11-24T10:00:00-05:00','2026-11-24T10:30:00-05:00',1.79613251282900500296e+09);
INSERT INTO "notified" VALUES('6e4ac5500dcd27fb2df4a0bae56cdd0e','vip-prev@t','','prospecting','allow','2026-11-17T09:00:00-05:00','2026-11-17T10:00:00-05:00',1.79613251282900500296e+09);
INSERT INTO "notified" VALUES('e570c15ccdaa198b197f7c23bd68429e','vip-tue@t','','prospecting','allow','2026-11-24T09:00:00-05:00','2026-11-24T10:00:00-05:00',1.79613251282900500296e+09);
INSERT INTO "notified" VALUES('1b2eb0ba3835f48fddc43a79bc97ba68','vip-thu@t','','prospecting','allow','2026-11-26T09:00:00-05:00','2026-11-26T10:00:00-05:00',1.79613251282900500296e+09);
INSERT INTO "notified" VALUES('52c13c206c6e49daa4aceda16614abcd','pat@t','','prospecting','allow','2026-11-27T09:00:00-05:00','2026-11-27T09:30:00-05:00',1.79613251282900500296e+09);
CREATE TABLE refs (ref TEXT PRIMARY KEY, uid TEXT NOT NULL, recurrence_id TEXT NOT NULL,
        at REAL NOT NULL, UNIQUE (uid, recurrence_id));
INSERT INTO "refs" VALUES('2gm896','vip-prev@t','',1.79613251278872632977e+09);
INSERT INTO "refs" VALUES('wg5kx4','bob-prev@t','',1.79613251278872632977e+09);
INSERT INTO "refs" VALUES('es184h','vip-tue@t','',1.79613251278872632977e+09);
INSERT INTO "refs" VALUES('ggcwii','bob@t','',1.79613251278872632977e+09);
INSERT INTO "refs" VALUES('i2ow4c','vip-thu@t','',1.79613251278872632977e+09);
INSERT INTO "refs" VALUES('ecfuqj','pat@t','',1.79613251278872632977e+09);
CREATE INDEX actions_sync ON actions(sync_id);
CREATE INDEX ledger_items_week ON ledger_items(week);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('actions',15);
COMMIT;
