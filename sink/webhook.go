package sink

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/imdsguard/imdsguard/alert"
	"github.com/imdsguard/imdsguard/report"
)

// Header names of the generic webhook.
const (
	// SignatureHeader carries "t=UNIX,v1=HEX": HEX is the HMAC-SHA256,
	// keyed with the shared secret, of "UNIX." followed by the body. The
	// time in the signed text lets a receiver refuse replays.
	SignatureHeader = "X-Imdsguard-Signature"
	// AlertIDHeader carries the alert id, for deduplication.
	AlertIDHeader = "X-Imdsguard-Alert-Id"
)

// HTTPOptions configure the webhook and Slack sinks.
type HTTPOptions struct {
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
	// CAFile, when set, is the PEM bundle the receiver's certificate must
	// chain to, instead of the system's roots.
	CAFile string
	// AllowHTTP permits plain http:// URLs (local tests only).
	AllowHTTP bool
	// UserAgent is sent with every request.
	UserAgent string
}

func (o HTTPOptions) client() (*http.Client, error) {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", o.CAFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: tr,
		// A redirect would send a signed alert where nobody configured
		// it to go: it counts as a failed delivery.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

// checkURL refuses anything but https (and http when allowed).
func checkURL(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("url: %v", err)
	}
	switch {
	case u.Scheme == "https" && u.Host != "":
	case u.Scheme == "http" && u.Host != "" && allowHTTP:
	default:
		return nil, fmt.Errorf("url: want an https:// URL, got %q", redact(u))
	}
	return u, nil
}

// redact hides the secrets a URL may carry (Slack's path is one).
func redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// Webhook posts each alert as JSON (the ndjson contract) to a URL.
type Webhook struct {
	name   string
	url    *url.URL
	secret []byte
	client *http.Client
	ua     string
	now    func() time.Time
}

// NewWebhook returns a webhook sink. With a secret, every request is
// signed (SignatureHeader).
func NewWebhook(name, rawURL string, secret []byte, o HTTPOptions) (*Webhook, error) {
	u, err := checkURL(rawURL, o.AllowHTTP)
	if err != nil {
		return nil, err
	}
	c, err := o.client()
	if err != nil {
		return nil, err
	}
	return &Webhook{name: name, url: u, secret: secret, client: c, ua: o.UserAgent, now: time.Now}, nil
}

// Name implements Sink.
func (w *Webhook) Name() string { return w.name }

// Deliver implements Sink: one request per alert, in order.
func (w *Webhook) Deliver(ctx context.Context, alerts []*alert.Alert) error {
	for i, a := range alerts {
		body, err := report.Marshal(a)
		if err != nil {
			return &PartialError{Delivered: i, Err: fmt.Errorf("encoding alert %s: %w", a.ID, err)}
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set(AlertIDHeader, a.ID)
		if len(w.secret) > 0 {
			h.Set(SignatureHeader, Sign(w.secret, w.now(), body))
		}
		if err := post(ctx, w.client, w.url, h, w.ua, body); err != nil {
			return &PartialError{Delivered: i, Err: err}
		}
	}
	return nil
}

// post sends body and wants a 2xx answer.
func post(ctx context.Context, c *http.Client, u *url.URL, h http.Header, ua string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = h
	if ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	resp, err := c.Do(req)
	if err != nil {
		// The error text holds the URL, which may be a secret.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("POST %s: %v", redact(u), err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", redact(u), resp.Status, report.Escape(strings.TrimSpace(string(snippet))))
	}
	return nil
}

// Sign returns the SignatureHeader value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a SignatureHeader value, as a receiver would: the MAC
// must match and the time be within tolerance of now.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("signature: want t=UNIX,v1=HEX")
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(secret, ts, body)) {
		return errors.New("signature: does not match")
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("signature: signed %s away from now", d.Round(time.Second))
	}
	return nil
}
