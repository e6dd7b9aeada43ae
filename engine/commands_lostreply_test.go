package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// replyDropper is a TCP proxy between go-redis and a redis-server. Once
// armed, it forwards the next script call (EVALSHA or EVAL: the commit)
// to Redis, which applies it, then closes the connection instead of
// forwarding Redis's reply: the reply is lost after the commit was applied.
type replyDropper struct {
	ln      net.Listener
	target  string
	armed   atomic.Bool
	dropped atomic.Int64
	// cutOff, once set, makes the proxy close every new connection at
	// once: Redis is out of reach from then on.
	cutOff atomic.Bool
	wg     sync.WaitGroup
}

func startReplyDropper(tb testing.TB, target string) *replyDropper {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	p := &replyDropper{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(func() {
		_ = ln.Close()
		p.wg.Wait()
	})
	return p
}

// URL is the Redis URL of the proxy.
func (p *replyDropper) URL(query string) string {
	return "redis://" + p.ln.Addr().String() + "/0" + query
}

func (p *replyDropper) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.cutOff.Load() {
			_ = client.Close()
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.wg.Add(2)
		var dropNext atomic.Bool
		closeBoth := func() { _ = client.Close(); _ = server.Close() }
		go func() { // client -> server
			defer p.wg.Done()
			defer closeBoth()
			buf := make([]byte, 64<<10)
			for {
				n, err := client.Read(buf)
				if n > 0 {
					chunk := buf[:n]
					lower := bytes.ToLower(chunk)
					if (bytes.Contains(lower, []byte("$7\r\nevalsha\r\n")) || bytes.Contains(lower, []byte("$4\r\neval\r\n"))) &&
						p.armed.CompareAndSwap(true, false) {
						dropNext.Store(true)
					}
					if _, werr := server.Write(chunk); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
		go func() { // server -> client
			defer p.wg.Done()
			defer closeBoth()
			buf := make([]byte, 64<<10)
			for {
				n, err := server.Read(buf)
				if n > 0 {
					chunk := buf[:n]
					if dropNext.Load() {
						if bytes.HasPrefix(chunk, []byte("-NOSCRIPT")) {
							// Not applied: go-redis sends EVAL next; drop that reply.
							p.armed.Store(true)
							dropNext.Store(false)
						} else {
							p.dropped.Add(1)
							return
						}
					}
					if _, werr := client.Write(chunk); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// lostReplyWorld is acme on Redis behind a replyDropper, for an engine
// whose go-redis client retries (query "") or not ("?max_retries=-1": the
// engine then sends the commit again itself).
func lostReplyWorld(t *testing.T, query string) (*world, *replyDropper) {
	srv := redistest.Start(t)
	proxy := startReplyDropper(t, srv.Addr())
	store, err := redisstore.Open(proxy.URL(query))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	clk := newFakeClock()
	w := &world{t: t, ctx: context.Background(), e: newCommandEngine(t, store, clk), clk: clk}
	w.acme(nil)
	return w, proxy
}

var lostReplyRetriers = []struct{ name, query string }{
	{"go-redis retries", ""},
	{"engine sends again", "?max_retries=-1"},
}

// R25, R40-R42: the reply to an approval's commit is lost after Redis
// applied it; the retry (by go-redis, or by the engine) is recognised as
// already applied: the approval answers the granted request (not 409
// "already granted"), with one membership, one audit record per change
// and one event.
func TestLostReplyApprovalAnswersTheOriginalResult(t *testing.T) {
	for _, tc := range lostReplyRetriers {
		t.Run(tc.name, func(t *testing.T) {
			w, proxy := lostReplyWorld(t, tc.query)
			r := w.request("carol", "lab work")
			auditBefore, eventsBefore := len(w.audit("acme")), len(w.events())

			proxy.armed.Store(true)
			got, err := w.e.Approve(w.ctx, "alice", r.ID, engine.Approval{Scope: "account", Role: "account_user"})
			require.NoError(t, err, "the caller's own approval was applied")
			assert.Equal(t, int64(1), proxy.dropped.Load(), "the commit's reply was dropped once")
			assert.Equal(t, engine.StatusGranted, got.Status)
			assert.Equal(t, "alice", got.DecidedBy)

			recs := w.audit("acme")[auditBefore:]
			assert.Equal(t, []string{engine.ActionMemberAdded, engine.ActionRequestGranted}, auditActions(recs))
			events := w.events()[eventsBefore:]
			assert.Len(t, events, 2, "one member.added and one request.granted event")
			assert.Len(t, eventsOf(events, engine.EventRequestGranted), 1)
			m, err := w.e.GetMember(w.ctx, sysAdmin, "acme", "carol")
			require.NoError(t, err)
			assert.Equal(t, []string{"account_user"}, m.Roles)
		})
	}
}

// R26, R40-R42: the same for a member added directly: one audit record and
// one event, not a second "changed" pair.
func TestLostReplyMemberAddWritesOnce(t *testing.T) {
	for _, tc := range lostReplyRetriers {
		t.Run(tc.name, func(t *testing.T) {
			w, proxy := lostReplyWorld(t, tc.query)
			auditBefore, eventsBefore := len(w.audit("acme")), len(w.events())

			proxy.armed.Store(true)
			got, err := w.e.SetMember(w.ctx, "alice", engine.Membership{
				Account: "acme", User: "dan", Roles: []string{"account_user"}, Justification: "joins the lab",
			})
			require.NoError(t, err)
			assert.Equal(t, int64(1), proxy.dropped.Load(), "the commit's reply was dropped once")
			assert.Equal(t, "dan", got.User)

			assert.Equal(t, []string{engine.ActionMemberAdded}, auditActions(w.audit("acme")[auditBefore:]))
			events := w.events()[eventsBefore:]
			require.Len(t, events, 1)
			assert.Equal(t, engine.EventMemberAdded, events[0].Type)
		})
	}
}

// R40, R45: when the reply is lost and Redis stays out of reach, the
// engine cannot tell whether the change was applied: the error wraps
// ErrOutcomeUnknown (never "nothing was changed"), and indeed the change
// was applied.
func TestLostReplyWithRedisGoneIsOutcomeUnknown(t *testing.T) {
	w, proxy := lostReplyWorld(t, "?max_retries=-1")
	proxy.cutOff.Store(true) // new connections fail from now on
	proxy.armed.Store(true)
	_, err := w.e.SetMember(w.ctx, "alice", engine.Membership{
		Account: "acme", User: "dan", Roles: []string{"account_user"}, Justification: "joins the lab",
	})
	require.ErrorIs(t, err, engine.ErrOutcomeUnknown)
	assert.Equal(t, int64(1), proxy.dropped.Load())

	proxy.cutOff.Store(false)
	require.Eventually(t, func() bool {
		_, err := w.e.GetMember(w.ctx, sysAdmin, "acme", "dan")
		return err == nil
	}, 30*time.Second, 10*time.Millisecond, "the change whose outcome was unknown was in fact applied")
}

// loseOneReply is a store whose next commit is applied but answered as if
// its reply had been lost (ErrOutcomeUnknown), once.
type loseOneReply struct {
	engine.Store
	armed *atomic.Bool
}

func (s loseOneReply) Commit(ctx context.Context, c engine.Change) error {
	err := s.Store.Commit(ctx, c)
	if err == nil && s.armed.CompareAndSwap(true, false) {
		return fmt.Errorf("test: reply lost: %w", engine.ErrOutcomeUnknown)
	}
	return err
}

// R25, R40-R42: the engine sends a commit whose reply was lost again, on
// every store: the store recognises the commit id as applied, and the
// approval answers the granted request with one audit record per change
// and one event.
func TestEngineResendsACommitWithALostReply(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			clk := newFakeClock()
			armed := new(atomic.Bool)
			store := loseOneReply{Store: kind.open(t), armed: armed}
			w := &world{t: t, ctx: context.Background(), e: newCommandEngine(t, store, clk), clk: clk}
			w.acme(nil)
			r := w.request("carol", "lab work")
			auditBefore, eventsBefore := len(w.audit("acme")), len(w.events())

			armed.Store(true)
			got, err := w.e.Approve(w.ctx, "alice", r.ID, engine.Approval{Scope: "account", Role: "account_user"})
			require.NoError(t, err)
			assert.False(t, armed.Load(), "a reply was lost")
			assert.Equal(t, engine.StatusGranted, got.Status)
			assert.Equal(t, []string{engine.ActionMemberAdded, engine.ActionRequestGranted}, auditActions(w.audit("acme")[auditBefore:]))
			assert.Len(t, w.events()[eventsBefore:], 2)
		})
	}
}
