// Package exception holds the operator's exceptions: sessions that are
// expected to reach a metadata service (break-glass debugging, bootstrap
// scripts), taken from the rule's false-positive guidance.
//
// An exception never hides an alert: a matching alert is kept, marked
// suppressed with the exception's name and reason, and counted, but it is
// not delivered to sinks nor counted as a finding. Every condition an
// exception names must hold (AND); a condition listing several values
// holds when any of them matches (OR). An exception past its expiry no
// longer applies.
package exception
