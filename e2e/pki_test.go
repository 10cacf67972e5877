package e2e

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pki is a throwaway certificate authority and the files issued from it.
type pki struct {
	CA                    string // CA certificate (PEM)
	APIServerCert         string // kube-apiserver serving certificate
	APIServerKey          string
	ServeCert, ServeKey   string // imdsguard serve's serving certificate (SAN 127.0.0.1)
	ClientCert, ClientKey string // kube-apiserver's client certificate towards imdsguard (mTLS)
	SAKey, SAPub          string // service-account signing key pair
	caCert                *x509.Certificate
	caKey                 crypto.Signer
	dir                   string
	notBefore, notAfter   time.Time
	serialLimit           *big.Int
}

// newPKI writes a CA, the serving certificates of kube-apiserver and imdsguard,
// a client certificate and a service-account key pair into dir.
func newPKI(t *testing.T, dir string) *pki {
	t.Helper()
	p := &pki{
		dir:         dir,
		notBefore:   time.Now().Add(-time.Hour),
		notAfter:    time.Now().Add(24 * time.Hour),
		serialLimit: new(big.Int).Lsh(big.NewInt(1), 127),
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          p.serial(t),
		Subject:               pkix.Name{CommonName: "imdsguard-e2e-ca"},
		NotBefore:             p.notBefore,
		NotAfter:              p.notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.caCert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.caKey = caKey
	p.CA = p.writePEM(t, "ca.crt", "CERTIFICATE", der)

	loop := []net.IP{net.IPv4(127, 0, 0, 1)}
	p.APIServerCert, p.APIServerKey = p.issue(t, "apiserver", "kube-apiserver",
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		append(loop, net.IPv4(10, 0, 0, 1)), x509.ExtKeyUsageServerAuth)
	p.ServeCert, p.ServeKey = p.issue(t, "imdsguard", "imdsguard", nil, loop, x509.ExtKeyUsageServerAuth)
	p.ClientCert, p.ClientKey = p.issue(t, "apiserver-client", "kube-apiserver-audit-webhook", nil, nil, x509.ExtKeyUsageClientAuth)

	sa, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p.SAKey = p.writePEM(t, "sa.key", "PRIVATE KEY", mustPKCS8(t, sa))
	pub, err := x509.MarshalPKIXPublicKey(&sa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	p.SAPub = p.writePEM(t, "sa.pub", "PUBLIC KEY", pub)
	return p
}

func (p *pki) serial(t *testing.T) *big.Int {
	n, err := rand.Int(rand.Reader, p.serialLimit)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// issue signs a leaf certificate with the CA and writes NAME.crt and NAME.key.
func (p *pki) issue(t *testing.T, name, cn string, dns []string, ips []net.IP, usage x509.ExtKeyUsage) (certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          p.serial(t),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             p.notBefore,
		NotAfter:              p.notAfter,
		DNSNames:              dns,
		IPAddresses:           ips,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, key.Public(), p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return p.writePEM(t, name+".crt", "CERTIFICATE", der), p.writePEM(t, name+".key", "PRIVATE KEY", mustPKCS8(t, key))
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustPKCS8(t *testing.T, key any) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func (p *pki) writePEM(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// pool is a cert pool holding the CA.
func (p *pki) pool() *x509.CertPool {
	cp := x509.NewCertPool()
	cp.AddCert(p.caCert)
	return cp
}
