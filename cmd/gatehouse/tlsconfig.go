package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
)

// TLSConfig names the files of the listeners' TLS (issue 10 §5), as OPA's
// server takes them. Each field is a `serve` flag, also read from
// GATEHOUSE_<FLAG>. The files are re-read while serving, so certificates
// rotate without a restart.
type TLSConfig struct {
	// CertFile is the PEM certificate chain presented to clients, leaf
	// first; KeyFile its PEM private key. Both or neither.
	CertFile string
	KeyFile  string
	// ClientCAFile holds the PEM CA certificates that must sign every
	// client's certificate: with it, a client without a verified
	// certificate cannot complete the handshake (mTLS).
	ClientCAFile string
}

// tlsRecheck is how often, at most, a handshake re-reads the TLS files to
// find a rotated certificate or client CA.
const tlsRecheck = time.Second

func (t *TLSConfig) bindFlags(fs *pflag.FlagSet) {
	fs.StringVar(&t.CertFile, "tls-cert-file", t.CertFile,
		"PEM certificate chain to serve HTTPS with (TLS 1.2 or later; needs --tls-private-key-file); re-read when it changes")
	fs.StringVar(&t.KeyFile, "tls-private-key-file", t.KeyFile,
		"PEM private key of --tls-cert-file; re-read when it changes")
	fs.StringVar(&t.ClientCAFile, "tls-client-ca-file", t.ClientCAFile,
		"PEM CA certificates that must sign every client's certificate (mTLS: clients without one are refused); re-read when it changes")
}

// enabled reports whether the listeners serve TLS.
func (t TLSConfig) enabled() bool { return t.CertFile != "" }

// validate checks the TLS flags go together; every error names its flag.
func (t TLSConfig) validate() []error {
	var errs []error
	if (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, errors.New("--tls-cert-file and --tls-private-key-file go together: give both or neither"))
	}
	if t.ClientCAFile != "" && t.CertFile == "" {
		errs = append(errs, errors.New("--tls-client-ca-file needs --tls-cert-file and --tls-private-key-file: client certificates are checked over TLS"))
	}
	return errs
}

// serverTLSConfig returns the TLS configuration of a listener serving the
// application protocols nextProtos (ALPN: "h2", "http/1.1" for HTTP; "h2"
// for gRPC), or nil when t configures no TLS. The files are read now: an
// unreadable or invalid certificate, key or CA file is an error naming its
// flag. While serving, a handshake re-reads them when tlsRecheck has passed
// since the last look; a new valid pair (or CA file) is used from then on,
// an invalid one is logged once and the previous one kept. TLS 1.2 is the
// minimum; with a client CA file every client must present a certificate
// it signed (tls.RequireAndVerifyClientCert). Every listener may call it:
// the HTTP listener here, the gRPC listener with credentials.NewTLS.
func serverTLSConfig(t TLSConfig, log *slog.Logger, nextProtos ...string) (*tls.Config, error) {
	if !t.enabled() {
		return nil, nil
	}
	files, err := newTLSFiles(t, log, tlsRecheck)
	if err != nil {
		return nil, err
	}
	return files.serverConfig(nextProtos), nil
}

// tlsFiles keeps the certificate and client CAs read from the TLS files,
// re-reading them at most every recheck.
type tlsFiles struct {
	cfg     TLSConfig
	log     *slog.Logger
	recheck time.Duration

	current atomic.Pointer[tlsMaterial]
	// lastCheck is when the files were last read, in Unix nanoseconds.
	lastCheck atomic.Int64
	// reading is held by the one handshake re-reading the files; others
	// use the current material meanwhile.
	reading sync.Mutex
	// rejected is the digest of the last contents found invalid, so that
	// an invalid pair is logged once, not at every handshake.
	rejected [sha256.Size]byte
}

// tlsMaterial is what the files held when last read validly.
type tlsMaterial struct {
	cert      tls.Certificate
	clientCAs *x509.CertPool // nil: no client certificates asked
	digest    [sha256.Size]byte
}

func newTLSFiles(cfg TLSConfig, log *slog.Logger, recheck time.Duration) (*tlsFiles, error) {
	f := &tlsFiles{cfg: cfg, log: log, recheck: recheck}
	raw, err := f.read()
	if err != nil {
		return nil, err
	}
	m, err := f.parse(raw)
	if err != nil {
		return nil, err
	}
	f.current.Store(m)
	f.lastCheck.Store(time.Now().UnixNano())
	return f, nil
}

// tlsContents are the bytes of the TLS files.
type tlsContents struct{ cert, key, ca []byte }

func (c tlsContents) digest() [sha256.Size]byte {
	return sha256.Sum256(bytes.Join([][]byte{c.cert, c.key, c.ca}, []byte{0}))
}

// read reads the files; an error names the flag of the file.
func (f *tlsFiles) read() (tlsContents, error) {
	var c tlsContents
	var err error
	if c.cert, err = os.ReadFile(f.cfg.CertFile); err != nil {
		return c, fmt.Errorf("--tls-cert-file: %w", err)
	}
	if c.key, err = os.ReadFile(f.cfg.KeyFile); err != nil {
		return c, fmt.Errorf("--tls-private-key-file: %w", err)
	}
	if f.cfg.ClientCAFile != "" {
		if c.ca, err = os.ReadFile(f.cfg.ClientCAFile); err != nil {
			return c, fmt.Errorf("--tls-client-ca-file: %w", err)
		}
	}
	return c, nil
}

// parse checks the contents: the key must match the certificate, and the
// CA file must hold at least one certificate. Errors never quote the key.
func (f *tlsFiles) parse(c tlsContents) (*tlsMaterial, error) {
	cert, err := tls.X509KeyPair(c.cert, c.key)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert-file and --tls-private-key-file are not a valid pair: %w", err)
	}
	m := &tlsMaterial{cert: cert, digest: c.digest()}
	if f.cfg.ClientCAFile != "" {
		m.clientCAs = x509.NewCertPool()
		if !m.clientCAs.AppendCertsFromPEM(c.ca) {
			return nil, errors.New("--tls-client-ca-file holds no PEM certificate")
		}
	}
	return m, nil
}

// material returns the certificate and client CAs to handshake with,
// first re-reading the files when recheck has passed since the last look
// and no other handshake is reading them.
func (f *tlsFiles) material() *tlsMaterial {
	m := f.current.Load()
	now := time.Now()
	if now.UnixNano()-f.lastCheck.Load() < int64(f.recheck) || !f.reading.TryLock() {
		return m
	}
	defer f.reading.Unlock()
	f.lastCheck.Store(now.UnixNano())
	raw, err := f.read()
	if err != nil {
		// The same unreadable file is logged once: its error stands in
		// for its contents.
		f.reject(tlsContents{cert: []byte(err.Error())}, err)
		return m
	}
	digest := raw.digest()
	if digest == m.digest || digest == f.rejected {
		return m
	}
	next, err := f.parse(raw)
	if err != nil {
		f.reject(raw, err)
		return m
	}
	f.current.Store(next)
	f.rejected = [sha256.Size]byte{}
	f.log.Info("TLS files changed: new handshakes use them",
		"cert_file", f.cfg.CertFile, "serial", serialOf(next.cert), "not_after", notAfterOf(next.cert),
		"client_ca_file", f.cfg.ClientCAFile)
	return next
}

// reject logs, once per distinct contents, that the files could not be
// used and the previous ones stay.
func (f *tlsFiles) reject(c tlsContents, err error) {
	if d := c.digest(); d != f.rejected {
		f.rejected = d
		f.log.Error("TLS files changed but cannot be used: keeping the previous certificate and client CAs", "error", err)
	}
}

// serverConfig returns the listener's configuration: each handshake gets
// the current material.
func (f *tlsFiles) serverConfig(nextProtos []string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: nextProtos,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := f.material()
			c := &tls.Config{
				MinVersion:   tls.VersionTLS12,
				NextProtos:   nextProtos,
				Certificates: []tls.Certificate{m.cert},
			}
			if m.clientCAs != nil {
				c.ClientCAs = m.clientCAs
				c.ClientAuth = tls.RequireAndVerifyClientCert
			}
			return c, nil
		},
	}
}

func serialOf(c tls.Certificate) string {
	if c.Leaf == nil {
		return ""
	}
	return c.Leaf.SerialNumber.String()
}

func notAfterOf(c tls.Certificate) string {
	if c.Leaf == nil {
		return ""
	}
	return c.Leaf.NotAfter.UTC().Format(time.RFC3339)
}

// validateDecisionAuth checks --decision-auth names a mode, and that
// client-cert has client certificates to read. That token has a verifier
// is checked where the verifier is built (serve).
func (c *Config) validateDecisionAuth() []error {
	mode, err := httpapi.ParseDecisionAuth(c.DecisionAuth)
	if err != nil {
		return []error{fmt.Errorf("--decision-auth %w", err)}
	}
	if mode == httpapi.DecisionAuthClientCert && c.TLS.ClientCAFile == "" {
		return []error{errors.New("--decision-auth client-cert needs --tls-client-ca-file (with --tls-cert-file and --tls-private-key-file): the caller is read from its verified certificate")}
	}
	return nil
}

// decisionAuthOf returns the decision authentication cfg names (validated
// by Config.Validate). token needs a verifier; none on a TCP listener is
// warned about: anyone reaching the port may ask any decision.
func decisionAuthOf(cfg *Config, verifier httpapi.Verifier, log *slog.Logger) (httpapi.DecisionAuth, error) {
	mode, err := httpapi.ParseDecisionAuth(cfg.DecisionAuth)
	if err != nil {
		return "", fmt.Errorf("--decision-auth %w", err)
	}
	_, unix := unixSocketPath(cfg.Addr)
	switch {
	case mode == httpapi.DecisionAuthToken && verifier == nil:
		return "", errors.New("--decision-auth token needs a token verifier: --jwt-hs256-secret-file, --jwt-public-key-file, --jwt-jwks-url or --jwt-issuer")
	case mode == httpapi.DecisionAuthNone && !unix:
		log.Warn("--decision-auth none: anyone who reaches the listener may ask any decision and read its reasons; set token or client-cert in production")
	}
	return mode, nil
}
