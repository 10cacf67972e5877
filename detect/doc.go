// Package detect is imdsguard's detection core: pure functions from an audit
// event to a verdict, shared by every front end (scan, serve, admission).
//
// The steps are layered one way:
//
//	audit event -> Exec (the request rebuilt as the API server reads it)
//	            -> argv -> normalized text -> indicators -> Verdict
//
// Two engines sit on top. Package esql reproduces the published Elastic rule
// exactly, blind spots included, for comparison. Strict, the default, reads
// the command the way the API server does and then looks for indicators.
package detect
