package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/policies"
)

// Issue 10 §5: TLS and who may ask. Real certificates made here
// (crypto/x509), real TLS connections to a real `gatehouse serve`.

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func randomSerial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	require.NoError(t, err)
	return n
}

// issued is a certificate the CA signed, with its key, in PEM.
type issued struct {
	certPEM, keyPEM []byte
	serial          *big.Int
	pair            tls.Certificate
}

// server issues a certificate for 127.0.0.1.
func (ca *testCA) server(t *testing.T) issued {
	return ca.issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "gatehouse"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

// client issues a client certificate naming cn and, when given, a URI SAN.
func (ca *testCA) client(t *testing.T, cn, uri string) issued {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if uri != "" {
		u, err := url.Parse(uri)
		require.NoError(t, err)
		tmpl.URIs = []*url.URL{u}
	}
	return ca.issue(t, tmpl)
}

func (ca *testCA) issue(t *testing.T, tmpl *x509.Certificate) issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl.SerialNumber = randomSerial(t)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	out := issued{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		serial:  tmpl.SerialNumber,
	}
	out.pair, err = tls.X509KeyPair(out.certPEM, out.keyPEM)
	require.NoError(t, err)
	return out
}

// writeAtomically replaces path's contents at once, as a secret mount does.
func writeAtomically(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	require.NoError(t, os.WriteFile(tmp, data, 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

// tlsFilesIn writes a server pair (and a client CA when given) into dir
// and returns the serve flags naming them.
func tlsFilesIn(t *testing.T, dir string, pair issued, clientCA []byte) []string {
	t.Helper()
	writeAtomically(t, filepath.Join(dir, "tls.crt"), pair.certPEM)
	writeAtomically(t, filepath.Join(dir, "tls.key"), pair.keyPEM)
	args := []string{"--tls-cert-file", filepath.Join(dir, "tls.crt"), "--tls-private-key-file", filepath.Join(dir, "tls.key")}
	if clientCA != nil {
		writeAtomically(t, filepath.Join(dir, "client-ca.pem"), clientCA)
		args = append(args, "--tls-client-ca-file", filepath.Join(dir, "client-ca.pem"))
	}
	return args
}

// httpsClient trusts roots and presents certs; every request makes a new
// connection, so a rotated certificate is seen at once.
func httpsClient(roots *x509.CertPool, certs ...tls.Certificate) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{RootCAs: roots, Certificates: certs, MinVersion: tls.VersionTLS12},
	}}
}

func poolOf(ca *testCA) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// hostOf is the host:port of a server started by startServer.
func hostOf(s *serverProcess) string { return strings.TrimPrefix(s.url, "http://") }

// presentedSerial completes a handshake with addr and returns the serial
// of the certificate the server presents.
func presentedSerial(addr string, roots *x509.CertPool) (*big.Int, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber, nil
}

const aliceViewsAcme = `{"subject": "alice", "action": "view", "resource": {"account": "acme"}}`

// askDecision posts aliceViewsAcme and returns the status and body.
func askDecision(client *http.Client, base, token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/v1/decisions", strings.NewReader(aliceViewsAcme))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// decisionFrom asks aliceViewsAcme, which must be answered 200.
func decisionFrom(t *testing.T, client *http.Client, base, token string) decisionView {
	t.Helper()
	status, body, err := askDecision(client, base, token)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, body)
	var d decisionView
	require.NoError(t, json.Unmarshal([]byte(body), &d))
	return d
}

// callerPolicyDir writes the built-in policies with decision_callers
// naming billing (view only) and returns the directory.
func callerPolicyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, fs.WalkDir(policies.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(policies.FS(), path)
		if err != nil {
			return err
		}
		if path == "data.json" {
			var data map[string]map[string]map[string]any
			if err := json.Unmarshal(raw, &data); err != nil {
				return err
			}
			data["gatehouse"]["config"]["decision_callers"] = map[string][]string{
				"billing": {"view"}, "spiffe://example.org/sa/portal": {"*"},
			}
			if raw, err = json.Marshal(data); err != nil {
				return err
			}
		}
		return os.WriteFile(filepath.Join(dir, path), raw, 0o600)
	}))
	return dir
}

func TestServeTLS(t *testing.T) {
	bin := buildGatehouse(t)

	t.Run("https serves, plain http is refused, the certificate rotates", func(t *testing.T) {
		ca := newTestCA(t, "server CA")
		dir := t.TempDir()
		first := ca.server(t)
		s := startServer(t, "tls", bin, append(tlsFilesIn(t, dir, first, nil), "--data-dir", seededDir(t))...)
		client := httpsClient(poolOf(ca))
		base := "https://" + hostOf(s)

		d := decisionFrom(t, client, base, "")
		assert.True(t, d.Allow, d.Reasons)

		resp, err := http.Post("http://"+hostOf(s)+"/v1/decisions", "application/json", strings.NewReader(aliceViewsAcme))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "plain HTTP to the TLS listener: %s", body)
			assert.Contains(t, string(body), "HTTPS")
		}

		old := &tls.Config{MaxVersion: tls.VersionTLS11, RootCAs: poolOf(ca)} //nolint:gosec // the test checks it is refused
		_, err = tls.Dial("tcp", hostOf(s), old)
		assert.Error(t, err, "TLS 1.1 is refused")

		// A broken pair keeps the old certificate.
		writeAtomically(t, filepath.Join(dir, "tls.crt"), []byte("not a certificate"))
		require.Eventually(t, func() bool {
			serial, err := presentedSerial(hostOf(s), poolOf(ca)) // handshakes look at the files
			return err == nil && serial.Cmp(first.serial) == 0 && strings.Contains(s.logs(), "cannot be used")
		}, replicaDeadline, 50*time.Millisecond, "a broken certificate file is logged, and the previous certificate still serves")
		serial, err := presentedSerial(hostOf(s), poolOf(ca))
		require.NoError(t, err)
		assert.Equal(t, first.serial, serial, "the previous certificate still serves")

		second := ca.server(t)
		start := time.Now()
		tlsFilesIn(t, dir, second, nil)
		require.Eventually(t, func() bool {
			serial, err := presentedSerial(hostOf(s), poolOf(ca))
			return err == nil && serial.Cmp(second.serial) == 0
		}, replicaDeadline, 20*time.Millisecond, "the rotated certificate is presented")
		t.Logf("rotation: a new handshake presented the new certificate %s after the files were written", time.Since(start).Round(time.Millisecond))
		d = decisionFrom(t, client, base, "")
		assert.True(t, d.Allow)
	})

	t.Run("mTLS refuses clients without a certificate of the client CA", func(t *testing.T) {
		serverCA, clientCA, otherCA := newTestCA(t, "server CA"), newTestCA(t, "client CA"), newTestCA(t, "other CA")
		dir := t.TempDir()
		s := startServer(t, "mtls", bin, append(tlsFilesIn(t, dir, serverCA.server(t), clientCA.pem), "--data-dir", seededDir(t))...)
		base := "https://" + hostOf(s)
		roots := poolOf(serverCA)
		good, foreign := clientCA.client(t, "billing", ""), otherCA.client(t, "billing", "")

		d := decisionFrom(t, httpsClient(roots, good.pair), base, "")
		assert.True(t, d.Allow)
		_, _, err := askDecision(httpsClient(roots), base, "")
		assert.Error(t, err, "no client certificate")
		_, _, err = askDecision(httpsClient(roots, foreign.pair), base, "")
		assert.Error(t, err, "a client certificate of another CA")

		// The client CA file rotates too.
		start := time.Now()
		writeAtomically(t, filepath.Join(dir, "client-ca.pem"), otherCA.pem)
		require.Eventually(t, func() bool {
			_, _, err := askDecision(httpsClient(roots, foreign.pair), base, "")
			return err == nil
		}, replicaDeadline, 20*time.Millisecond, "the new client CA is trusted")
		t.Logf("client CA rotation: accepted by a new handshake after %s", time.Since(start).Round(time.Millisecond))
		_, _, err = askDecision(httpsClient(roots, good.pair), base, "")
		assert.Error(t, err, "the old client CA is no longer trusted")
	})

	t.Run("decision callers authenticated by token", func(t *testing.T) {
		secretFile := filepath.Join(t.TempDir(), "secret")
		secret := []byte("gatehouse-tls-test-secret-0123456789")
		require.NoError(t, os.WriteFile(secretFile, secret, 0o600))
		s := startServer(t, "token", bin, "--data-dir", seededDir(t), "--policy-dir", callerPolicyDir(t),
			"--jwt-hs256-secret-file", secretFile, "--decision-auth", "token")
		mint := func(sub string) string {
			tok, err := httpapi.MintHS256(secret, sub, time.Hour)
			require.NoError(t, err)
			return tok
		}
		status, body, err := askDecision(http.DefaultClient, s.url, "")
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Contains(t, body, `"code":"unauthenticated"`)

		resp, err := http.Post(s.url+"/v1/data/gatehouse/decision/allow", "application/json", strings.NewReader(`{"input": `+aliceViewsAcme+`}`))
		require.NoError(t, err)
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.JSONEq(t, `{"code": "unauthorized", "message": "a bearer token is required (Authorization: Bearer <JWT>)"}`, string(raw), "OPA's error shape")

		d := decisionFrom(t, http.DefaultClient, s.url, mint("billing"))
		assert.True(t, d.Allow, d.Reasons)
		d = decisionFrom(t, http.DefaultClient, s.url, mint("intruder"))
		assert.False(t, d.Allow)
		assert.Equal(t, []string{`application "intruder" may not ask for decisions (it is not in decision_callers)`}, d.Reasons)
	})

	t.Run("decision callers authenticated by client certificate", func(t *testing.T) {
		serverCA, clientCA := newTestCA(t, "server CA"), newTestCA(t, "client CA")
		s := startServer(t, "client-cert", bin, append(tlsFilesIn(t, t.TempDir(), serverCA.server(t), clientCA.pem),
			"--data-dir", seededDir(t), "--policy-dir", callerPolicyDir(t), "--decision-auth", "client-cert")...)
		base := "https://" + hostOf(s)
		roots := poolOf(serverCA)

		d := decisionFrom(t, httpsClient(roots, clientCA.client(t, "billing", "").pair), base, "")
		assert.True(t, d.Allow, d.Reasons)
		d = decisionFrom(t, httpsClient(roots, clientCA.client(t, "intruder", "").pair), base, "")
		assert.False(t, d.Allow)
		assert.Equal(t, []string{`application "intruder" may not ask for decisions (it is not in decision_callers)`}, d.Reasons)
		d = decisionFrom(t, httpsClient(roots, clientCA.client(t, "intruder", "spiffe://example.org/sa/portal").pair), base, "")
		assert.True(t, d.Allow, "the URI SAN names the caller: %v", d.Reasons)
	})

	t.Run("a Unix socket serves decisions and is removed on SIGTERM", func(t *testing.T) {
		dir, err := os.MkdirTemp("", "gh") // short: a socket path is at most ~104 bytes
		require.NoError(t, err)
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		sock := filepath.Join(dir, "gatehouse.sock")

		// A stale socket (its process died) is replaced.
		stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
		require.NoError(t, err)
		stale.SetUnlinkOnClose(false)
		require.NoError(t, stale.Close())

		s := startServer(t, "unix", bin, "--addr", "unix://"+sock, "--data-dir", seededDir(t))
		info, err := os.Stat(sock)
		require.NoError(t, err)
		assert.Equal(t, os.ModeSocket, info.Mode().Type())
		assert.Equal(t, os.FileMode(0o660), info.Mode().Perm())
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", sock)
			},
		}}
		d := decisionFrom(t, client, "http://gatehouse", "")
		assert.True(t, d.Allow, d.Reasons)

		out, err := exec.Command(bin, "serve", "--addr", "unix://"+sock, "--data-dir", t.TempDir()).CombinedOutput()
		require.Error(t, err, "a second server on a live socket must refuse to start")
		assert.Contains(t, string(out), "another process is serving on this socket")

		s.stop(t)
		s.done <- nil // the cleanup's stop finds it stopped
		_, err = os.Lstat(sock)
		assert.ErrorIs(t, err, fs.ErrNotExist, "the socket is removed on SIGTERM")
	})
}

// The TLS and decision-auth flags are checked before anything starts.
func TestServeTLSFlagsValidate(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert-file", "c.pem"}, "--tls-cert-file and --tls-private-key-file go together"},
		{[]string{"--tls-client-ca-file", "ca.pem"}, "--tls-client-ca-file needs --tls-cert-file"},
		{[]string{"--decision-auth", "jwt"}, `--decision-auth must be none, token or client-cert, not "jwt"`},
		{[]string{"--decision-auth", "client-cert"}, "--decision-auth client-cert needs --tls-client-ca-file"},
		{[]string{"--addr", "unix://"}, "names no socket path"},
	} {
		_, err := runGatehouse(t, append([]string{"serve", "--data-dir", t.TempDir()}, tc.args...)...)
		require.Error(t, err, tc.args)
		assert.Contains(t, err.Error(), tc.want, tc.args)
	}
	_, err := runGatehouse(t, "serve", "--data-dir", t.TempDir(), "--decision-auth", "token", "--addr", "127.0.0.1:0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--decision-auth token needs a token verifier")
}
