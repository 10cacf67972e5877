package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/report"
)

// Slack posts one message per alert to a Slack incoming webhook (or a
// compatible one: Mattermost, Rocket.Chat and others read "text").
type Slack struct {
	name   string
	url    *url.URL
	client *http.Client
	ua     string
}

// NewSlack returns a Slack sink posting to the incoming webhook URL, which
// is a secret: it is never logged.
func NewSlack(name, rawURL string, o HTTPOptions) (*Slack, error) {
	u, err := checkURL(rawURL, o.AllowHTTP)
	if err != nil {
		return nil, err
	}
	c, err := o.client()
	if err != nil {
		return nil, err
	}
	return &Slack{name: name, url: u, client: c, ua: o.UserAgent}, nil
}

// Name implements Sink.
func (s *Slack) Name() string { return s.name }

// Deliver implements Sink.
func (s *Slack) Deliver(ctx context.Context, alerts []*alert.Alert) error {
	for i, a := range alerts {
		body, err := json.Marshal(SlackMessage(a))
		if err != nil {
			return &PartialError{Delivered: i, Err: err}
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		if err := post(ctx, s.client, s.url, h, s.ua, body); err != nil {
			return &PartialError{Delivered: i, Err: err}
		}
	}
	return nil
}

// slackMessage is an incoming webhook payload.
type slackMessage struct {
	Text   string       `json:"text"`
	Mrkdwn bool         `json:"mrkdwn"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type   string       `json:"type"`
	Text   *slackText   `json:"text,omitempty"`
	Fields []*slackText `json:"fields,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// SlackMessage renders an alert for Slack. Everything the attacker wrote
// (command, names, user agent) goes out as plain text with Slack's control
// characters escaped, so it cannot mention @channel, forge a link or
// format the message; terminal controls and bidi overrides are shown
// escaped.
func SlackMessage(a *alert.Alert) any {
	plain := func(s string, limit int) *slackText {
		return &slackText{Type: "plain_text", Text: slackEscape(s, limit)}
	}
	target := a.CloudTarget
	if a.Access != "" {
		target += " " + a.Access
	}
	who := fmt.Sprintf("%s in %s/%s", a.User.Username, a.Namespace, a.Pod)
	summary := fmt.Sprintf("imdsguard: %s metadata access by %s (%s): %s", target, who, a.Outcome, a.ExecutedCommand)
	fields := []*slackText{
		plain("Cloud target: "+a.CloudTarget, 200),
		plain("Access: "+a.Access, 200),
		plain("Outcome: "+a.Outcome, 200),
		plain("User: "+a.User.Username, 300),
		plain("Pod: "+a.Namespace+"/"+a.Pod+" ("+a.Container+")", 300),
		plain("Source: "+strings.Join(a.SourceIPs, ", "), 300),
		plain("Time: "+a.Timestamp, 200),
		plain("Alert: "+a.ID, 200),
	}
	return slackMessage{
		Text:   slackEscape(summary, 600),
		Mrkdwn: false,
		Blocks: []slackBlock{
			{Type: "header", Text: plain("Cloud metadata access from a pod exec", 150)},
			{Type: "section", Fields: fields},
			{Type: "section", Text: plain("Command: "+a.ExecutedCommand, 2900)},
		},
	}
}

// slackEscape escapes Slack's three control characters and dangerous
// runes, and cuts the text at limit bytes on a rune boundary.
func slackEscape(s string, limit int) string {
	s = report.Escape(s)
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
	if len(s) > limit {
		cut := limit - len("…")
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		// Do not leave half an entity.
		if amp := strings.LastIndexByte(s[:cut], '&'); amp >= 0 && !strings.Contains(s[amp:cut], ";") {
			cut = amp
		}
		s = s[:cut] + "…"
	}
	return s
}
