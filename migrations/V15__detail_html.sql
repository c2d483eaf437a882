-- The HTML a role page shows of its detail (company notes, selling points,
-- description), sanitised once when the detail is fetched: a site build
-- shows it as stored instead of sanitising every role's detail again.
-- NULL where the detail has none, or for details stored before V15 (the
-- site sanitises those itself until the role's next detail).
ALTER TABLE role_rows ADD COLUMN company_notes_html TEXT;
ALTER TABLE role_rows ADD COLUMN selling_points_html TEXT;
ALTER TABLE role_rows ADD COLUMN description_html TEXT;
