// Package report renders alerts. Every output format implements Handler;
// the ndjson alert stream is the contract the other formats re-render.
//
// Alert fields are attacker-influenced (the command is chosen by whoever
// runs the exec), so every format escapes what could act on a terminal or
// a browser: control characters, escape sequences, bidirectional and
// invisible format characters, and HTML metacharacters in JSON.
package report
