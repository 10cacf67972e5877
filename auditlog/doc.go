// Package auditlog reads Kubernetes audit events from the forms they are
// stored in: the API server's JSON-lines log, the audit webhook's EventList,
// JSON arrays, Elastic documents (kubernetes.audit.*, nested or dotted) and
// Elasticsearch search responses, plain or gzip-compressed.
//
// Bad input is normal input here: a malformed line, an oversized line,
// invalid UTF-8 or a truncated archive is reported as an *Error carrying the
// file and line, counted, and reading goes on with the next line.
package auditlog
