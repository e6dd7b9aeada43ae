package webhook_test

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/webhook"
)

// syncBuffer is a bytes.Buffer safe for concurrent writers: the slog
// handler of the test's Deliverer.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// Issue 7, point 4: a receiver URL holding credentials (user info, a token
// in the query string or the path) never reaches a log line or the
// observer, whether its deliveries fail (refused by the receiver, a
// connection refused, a URL that does not parse) or succeed.
func TestURLSecretsNeverLogged(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			s, _ := open(t)
			r := newReceiver(t, secret, func(r *receiver) { r.refuse = func(n int) bool { return n <= 3 } })
			host := strings.TrimPrefix(strings.TrimSuffix(r.url, "/hook"), "http://")
			flaky := "http://hookuser:hookpass-s3cret@" + host + "/hook/path-s3cret?token=query-s3cret&x=1#frag-s3cret"
			down := "http://downuser:downpass-s3cret@" + closedPort(t) + "/p?token=down-s3cret"
			broken := "http://brokenuser:brokenpass-s3cret@" + host + ":notaport/?token=broken-s3cret"

			logs := &syncBuffer{}
			var mu sync.Mutex
			observed := map[string]map[bool]int{}
			observe := func(name string, ok bool) {
				mu.Lock()
				defer mu.Unlock()
				if observed[name] == nil {
					observed[name] = map[bool]int{}
				}
				observed[name][ok]++
			}
			want := commitEvents(t, s, 1, 3)
			run(t, webhook.New(s, []string{flaky, down, broken}, secret, fast(
				webhook.WithObserver(observe),
				webhook.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
			)...))

			awaitDelivered(t, r, ids(want))
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				mu.Lock()
				defer mu.Unlock()
				assert.GreaterOrEqual(c, observed[webhook.Name(flaky)][false], 3)
				assert.GreaterOrEqual(c, observed[webhook.Name(flaky)][true], len(want))
				assert.GreaterOrEqual(c, observed[webhook.Name(down)][false], 2)
				assert.GreaterOrEqual(c, observed[webhook.Name(broken)][false], 2)
			}, deliveryWait, 5*time.Millisecond)

			text := logs.String()
			t.Logf("log excerpt:\n%s", firstLines(text, 6))
			require.Contains(t, text, "webhook delivery failed")
			require.Contains(t, text, "connection refused", "the cause of a failure is still logged")
			assert.Contains(t, text, "http://***@"+host+"/***?***#***", "the receiver is named by scheme and host")
			for _, secretText := range []string{"s3cret", "hookuser", "downuser", "brokenuser", "token="} {
				assert.NotContains(t, text, secretText)
			}
			mu.Lock()
			defer mu.Unlock()
			for name := range observed {
				assert.NotContains(t, name, "s3cret")
				assert.True(t, strings.HasPrefix(name, "webhook:"), name)
			}
		})
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
