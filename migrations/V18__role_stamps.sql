-- Site stamps (issue 26). The site keeps each role's view from build to
-- build; it needs to know, without reading every role's row, which roles
-- changed since. A narrow table the build reads whole in milliseconds,
-- where reading role_rows walks every row's JSON:
--
--   stamp           a new random number whenever anything a role's view or
--                   page reads is written: its row, or a change recorded
--                   of it. It says only "not the same as before": random,
--                   not counted, so a database restored from a backup can
--                   never hand an old stamp to another version of a role.
--   last_active     the two volatile fields a view shows, as JSON (the
--   responsiveness  values of raw's manager_last_active and
--                   responsiveness_days; NULL when absent or raw is not
--                   JSON). A run that moves only volatile fields
--                   (track::VOLATILE_FIELDS) rewrites raw alone and moves
--                   no stamp; a build reads the two here.
--
-- The columns a view does not read (raw_hash and the model and evaluation
-- bookkeeping) move no stamp. A later migration that rebuilds role_rows or
-- changes, or adds a column a view reads, must create these triggers again.
CREATE TABLE role_stamps (
    role_id        TEXT PRIMARY KEY,
    stamp          INTEGER NOT NULL,
    last_active    TEXT,
    responsiveness TEXT
) WITHOUT ROWID;
INSERT INTO role_stamps (role_id, stamp, last_active, responsiveness)
SELECT id, random(),
       CASE WHEN json_valid(raw) THEN raw -> '$.manager_last_active' END,
       CASE WHEN json_valid(raw) THEN raw -> '$.responsiveness_days' END
FROM role_rows;
CREATE TRIGGER role_stamps_insert AFTER INSERT ON role_rows BEGIN
    INSERT OR REPLACE INTO role_stamps (role_id, stamp, last_active, responsiveness)
    VALUES (new.id, random(),
            CASE WHEN json_valid(new.raw) THEN new.raw -> '$.manager_last_active' END,
            CASE WHEN json_valid(new.raw) THEN new.raw -> '$.responsiveness_days' END);
END;
CREATE TRIGGER role_stamps_update AFTER UPDATE OF
    id, source, external_id, title, company, url, status, first_seen_at, gone_at, tier,
    combined_score, engineer_score, headhunter_score, excitement_score, salary_min, salary_max,
    fee_percent, posted_at, content_hash, last_changed_at, reasons, signals, score_breakdown,
    trend, evaluated_at, detail, detail_fetched_at, company_notes, selling_points, description,
    equity, requirements, company_notes_html, selling_points_html, description_html
ON role_rows BEGIN
    UPDATE role_stamps SET stamp = random() WHERE role_id = new.id;
END;
CREATE TRIGGER role_stamps_raw AFTER UPDATE OF raw ON role_rows BEGIN
    UPDATE role_stamps
    SET last_active = CASE WHEN json_valid(new.raw) THEN new.raw -> '$.manager_last_active' END,
        responsiveness = CASE WHEN json_valid(new.raw) THEN new.raw -> '$.responsiveness_days' END,
        -- Only track::VOLATILE_FIELDS moved: the stamp stays. Anything
        -- else, a list in another order included, moves it.
        stamp = CASE WHEN json_valid(old.raw) AND json_valid(new.raw) AND
                    json_remove(old.raw,
                        '$.recruiter_last_active', '$.manager_last_active',
                        '$.responsiveness_days', '$.priority', '$.is_posted_recently',
                        '$.role_timer', '$.favourite', '$.applied_for_role', '$.user_status',
                        '$.user_role_approval', '$.user_request_date', '$.withdraw_allowed',
                        '$.recruiter_note', '$.submitted', '$.interviewing', '$.hired',
                        '$.is_invite', '$.invite_message', '$.invited_at', '$.company.logoUrl',
                        '$.company.team_image_url', '$.paraform_owner.image',
                        '$.company.company_metadata.paraform_owner.image')
                    IS json_remove(new.raw,
                        '$.recruiter_last_active', '$.manager_last_active',
                        '$.responsiveness_days', '$.priority', '$.is_posted_recently',
                        '$.role_timer', '$.favourite', '$.applied_for_role', '$.user_status',
                        '$.user_role_approval', '$.user_request_date', '$.withdraw_allowed',
                        '$.recruiter_note', '$.submitted', '$.interviewing', '$.hired',
                        '$.is_invite', '$.invite_message', '$.invited_at', '$.company.logoUrl',
                        '$.company.team_image_url', '$.paraform_owner.image',
                        '$.company.company_metadata.paraform_owner.image')
                THEN stamp ELSE random() END
    WHERE role_id = new.id;
END;
CREATE TRIGGER role_stamps_delete AFTER DELETE ON role_rows BEGIN
    DELETE FROM role_stamps WHERE role_id = old.id;
END;
CREATE TRIGGER role_stamps_change AFTER INSERT ON changes BEGIN
    UPDATE role_stamps SET stamp = random() WHERE role_id = new.role_id;
END;

-- A build reads the briefings from the answers to their roles, not by
-- walking every role's row.
CREATE INDEX role_rows_briefing ON role_rows (briefing_key) WHERE briefing_key IS NOT NULL;
