package serve

import (
	"bytes"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Authenticator decides whether a request comes from an allowed client.
// It returns 0, or the status to answer (401 without credentials, 403
// with wrong ones) and why.
type Authenticator interface {
	Authenticate(r *http.Request) (int, string)
}

// Auth accepts a client that presents a certificate signed by the client
// CA (verified during the TLS handshake) or the bearer token of the token
// file; with neither configured it accepts everyone (only allowed with
// --insecure).
type Auth struct {
	MTLS  bool
	Token *FileToken
}

// Authenticate implements Authenticator.
func (a Auth) Authenticate(r *http.Request) (int, string) {
	if !a.MTLS && a.Token == nil {
		return 0, ""
	}
	if a.MTLS && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return 0, ""
	}
	h := r.Header.Get("Authorization")
	if a.Token != nil && h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return http.StatusUnauthorized, "Authorization must be a bearer token"
		}
		if a.Token.Equal(strings.TrimSpace(tok)) {
			return 0, ""
		}
		return http.StatusForbidden, "wrong bearer token"
	}
	return http.StatusUnauthorized, "no client certificate or bearer token"
}

// FileToken is a bearer token read from a file, read again when the file
// changes (so a rotated secret takes effect without a restart).
type FileToken struct {
	path  string
	mu    sync.Mutex
	mtime time.Time
	token []byte
}

// NewFileToken reads the token file; it must hold a non-empty token.
func NewFileToken(path string) (*FileToken, error) {
	t := &FileToken{path: path}
	if err := t.reload(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *FileToken) reload() error {
	st, err := os.Stat(t.path)
	if err != nil {
		return err
	}
	if st.ModTime().Equal(t.mtime) && t.token != nil {
		return nil
	}
	data, err := os.ReadFile(t.path)
	if err != nil {
		return err
	}
	tok := bytes.TrimSpace(data)
	if len(tok) == 0 {
		return fmt.Errorf("%s: empty token", t.path)
	}
	t.token, t.mtime = tok, st.ModTime()
	return nil
}

// Equal compares in constant time.
func (t *FileToken) Equal(s string) bool {
	t.mu.Lock()
	t.reload() // keep the last good token if the file is briefly gone
	tok := t.token
	t.mu.Unlock()
	return subtle.ConstantTimeCompare(tok, []byte(s)) == 1
}

// TLSConfig builds the server's TLS configuration: the certificate is read
// again when its files change; with clientCA, client certificates signed
// by it are verified when given. The handshake does not require one, so
// the kubelet's probes and Prometheus reach /healthz, /readyz and
// /metrics; the intake paths refuse a request without a verified
// certificate or the token (Auth).
func TLSConfig(certFile, keyFile, clientCA string) (*tls.Config, error) {
	cr := &certReloader{cert: certFile, key: keyFile}
	if _, err := cr.get(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return cr.get()
		},
	}
	if clientCA != "" {
		pem, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", clientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

type certReloader struct {
	cert, key string
	mu        sync.Mutex
	mtime     time.Time
	current   *tls.Certificate
}

func (c *certReloader) get() (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := os.Stat(c.cert)
	if err == nil && c.current != nil && st.ModTime().Equal(c.mtime) {
		return c.current, nil
	}
	pair, lerr := tls.LoadX509KeyPair(c.cert, c.key)
	if lerr != nil {
		if c.current != nil {
			return c.current, nil // keep serving with the last good pair
		}
		return nil, lerr
	}
	c.current = &pair
	if err == nil {
		c.mtime = st.ModTime()
	}
	return c.current, nil
}
