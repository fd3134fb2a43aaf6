-- Listings of one client's patients at a million rows (services/dashboard/patient-list.ts): a
-- client-scoped token always lists with client_id = its client, and an admin may filter by one.
-- 011's (client_id, id desc) serves the default order only. For the other sorts the plan walked
-- the whole sort index (012) and dropped other clients' rows one by one, which postgres.js's
-- prepared statements make the usual plan (a generic plan cannot know the client is small): a
-- client of 401 patients among 1,000,000 took 1.47 s for its first page by submission date and
-- 1.05 s by name (0.16 and 0.10 ms with these), and one with fewer patients than a page read the
-- whole index. With the client first in each sort's index, a page is an index range whatever the
-- client's size.
create index patients_client_submitted on patients (client_id, submitted_at, id);
create index patients_client_updated on patients (client_id, updated_at, id);
create index patients_client_name_sort on patients (client_id, sort_name, id);
