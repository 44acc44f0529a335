-- Pages rejected, by dump and reason.
SELECT dump_id, status, pages
FROM rejections
ORDER BY dump_id, pages DESC;
