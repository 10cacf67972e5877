// Package sink delivers alerts out of imdsguard: to an ndjson file or
// standard output, a generic HTTPS webhook (signed with HMAC when a secret
// is set) and a Slack-compatible incoming webhook.
//
// Every sink implements Sink. Delivery is at least once: the server keeps
// what is owed in the store's outbox and retries a failed delivery with
// backoff, so a receiver can see an alert twice (or a newer version of
// it) and should deduplicate by its id.
package sink
