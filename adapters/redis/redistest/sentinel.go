package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name under which the sentinels of StartSentinel
// monitor the primary: the master_name of Sentinel.URL.
const MasterName = "gatehouse"

// Sentinel is a Redis deployment managed by Redis Sentinel, owned by one
// test: a primary, one replica of it (--replicaof) and three sentinels
// (redis-server --sentinel) with a quorum of two, all on free ports of
// 127.0.0.1. Its methods are safe for concurrent use.
type Sentinel struct {
	tb        testing.TB
	data      [2]*Server // the two data servers; which is primary changes with failovers
	sentinels [3]*Server
}

// sentinelTimeout bounds how long StartSentinel, Failover and KillPrimary
// wait for the sentinels to agree: they notice each other every 2 seconds
// and a dead primary after downAfter, then elect a leader, so a failover
// takes a few seconds; a busy machine running -race can make it many.
const sentinelTimeout = 60 * time.Second

// downAfter is the sentinels' down-after-milliseconds: how long a primary
// may not answer before a sentinel thinks it down. Shorter makes failovers
// after KillPrimary quicker, but a primary starved of CPU for that long (a
// machine running many -race tests) would be failed over without cause.
const downAfter = 5 * time.Second

// StartSentinel starts a primary, a replica of it and three sentinels
// monitoring the primary as MasterName, and returns once the replica is in
// sync and every sentinel knows the primary, the replica and the two other
// sentinels (SENTINEL CKQUORUM succeeds). opts apply to the primary and the
// replica (WithArgs ...). Everything is killed when the test ends.
func StartSentinel(tb testing.TB, opts ...Option) *Sentinel {
	tb.Helper()
	// Sync a new replica at once (a diskless sync waits 5 seconds for more
	// replicas by default) and ping replicas every second, so that
	// WAIT and INFO replication see a live link soon.
	dataOpts := append([]Option{WithArgs("--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1")}, opts...)
	primary := Start(tb, dataOpts...)
	replica := Start(tb, append(dataOpts, ReplicaOf(primary))...)
	d := &Sentinel{tb: tb, data: [2]*Server{primary, replica}}
	d.waitInSync(primary, replica)
	for i := range d.sentinels {
		dir := tb.TempDir()
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 2\n"+
			"sentinel down-after-milliseconds %[1]s %[3]d\n"+
			"sentinel failover-timeout %[1]s 10000\n"+
			"sentinel parallel-syncs %[1]s 1\n", MasterName, primary.Port(), downAfter.Milliseconds())
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			tb.Fatalf("redistest: write %s: %v", conf, err)
		}
		d.sentinels[i] = Start(tb, func(c *config) { c.sentinel = conf })
	}
	d.waitAgreed()
	return d
}

// URL is the redis+sentinel:// URL of the deployment, naming the three
// sentinels and MasterName, database 0: what adapters/redis Open and
// gatehouse's --redis-url take.
func (d *Sentinel) URL() string {
	u := "redis+sentinel://" + d.sentinels[0].Addr() + "/0?master_name=" + MasterName
	for _, s := range d.sentinels[1:] {
		u += "&addr=" + s.Addr()
	}
	return u
}

// Sentinels returns the sentinel servers.
func (d *Sentinel) Sentinels() []*Server { return d.sentinels[:] }

// Primary returns the data server the sentinels name as primary now.
func (d *Sentinel) Primary() *Server {
	d.tb.Helper()
	addr, err := d.masterAddr(d.sentinels[0])
	if err != nil {
		d.tb.Fatalf("redistest: ask sentinel %s for the primary: %v", d.sentinels[0].Addr(), err)
	}
	for _, s := range d.data {
		if s.Addr() == addr {
			return s
		}
	}
	d.tb.Fatalf("redistest: the sentinels name %s, which is no server of this deployment", addr)
	return nil
}

// Replica returns the data server that is not Primary.
func (d *Sentinel) Replica() *Server {
	d.tb.Helper()
	if p := d.Primary(); p == d.data[0] {
		return d.data[1]
	}
	return d.data[0]
}

// Failover asks a sentinel for a failover (SENTINEL FAILOVER), which
// promotes the replica without the primary's agreement, and returns the new
// primary once every sentinel names it and it answers as a primary. The old
// primary is made a replica of it by the sentinels.
func (d *Sentinel) Failover() *Server {
	d.tb.Helper()
	old := d.Primary()
	next := d.Replica()
	c := d.client(d.sentinels[0])
	defer c.Close()
	if err := c.Failover(context.Background(), MasterName).Err(); err != nil {
		d.tb.Fatalf("redistest: SENTINEL FAILOVER: %v", err)
	}
	d.WaitPromoted(next)
	d.waitInSync(next, old)
	return next
}

// KillPrimary kills the primary (SIGKILL: whatever it had not sent its
// replica is gone), waits until the sentinels have promoted the replica,
// and returns the old primary, stopped, and the new one. The old primary
// can be brought back with RejoinAsReplica.
func (d *Sentinel) KillPrimary() (old, next *Server) {
	d.tb.Helper()
	old, next = d.Primary(), d.Replica()
	old.Stop()
	d.WaitPromoted(next)
	return old, next
}

// RejoinAsReplica restarts srv, a stopped data server, as a replica of the
// current primary (its data is gone: it syncs it from the primary), and
// returns once it is in sync and the sentinels agree on the deployment.
func (d *Sentinel) RejoinAsReplica(srv *Server) {
	d.tb.Helper()
	primary := d.Primary()
	srv.Restart(ReplicaOf(primary))
	d.waitInSync(primary, srv)
	d.waitAgreed()
}

// WaitPromoted waits until every sentinel names next as the primary and
// next answers as one: after the primary was killed (Server.Stop) or
// frozen (Server.Pause) by the test itself, say.
func (d *Sentinel) WaitPromoted(next *Server) {
	d.tb.Helper()
	d.waitFor("the sentinels to promote "+next.Addr(), func() error {
		for _, s := range d.sentinels {
			addr, err := d.masterAddr(s)
			if err != nil {
				return err
			}
			if addr != next.Addr() {
				return fmt.Errorf("sentinel %s names %s", s.Addr(), addr)
			}
		}
		if role := infoField(next, "replication", "role"); role != "master" {
			return fmt.Errorf("%s is %q", next.Addr(), role)
		}
		return nil
	})
}

// waitInSync waits until replica is a replica of primary with its link up
// and primary lists it online.
func (d *Sentinel) waitInSync(primary, replica *Server) {
	d.tb.Helper()
	d.waitFor(replica.Addr()+" to sync from "+primary.Addr(), func() error {
		if port := infoField(replica, "replication", "master_port"); port != strconv.Itoa(primary.Port()) {
			return fmt.Errorf("master_port is %q", port)
		}
		if status := infoField(replica, "replication", "master_link_status"); status != "up" {
			return fmt.Errorf("master_link_status is %q", status)
		}
		info := infoSection(primary, "replication")
		if !strings.Contains(info, "port="+strconv.Itoa(replica.Port())+",state=online") {
			return fmt.Errorf("the primary does not list it online:\n%s", info)
		}
		return nil
	})
}

// waitAgreed waits until every sentinel names the same data server as
// primary, that server answers as one and lists the other online, every
// sentinel lists the other as a replica that is up, knows the two other
// sentinels, and finds a quorum. Which server is primary is not checked:
// the sentinels may have moved it meanwhile, and that is theirs to decide.
func (d *Sentinel) waitAgreed() {
	d.tb.Helper()
	ctx := context.Background()
	d.waitFor("the sentinels to agree", func() error {
		named, err := d.masterAddr(d.sentinels[0])
		if err != nil {
			return err
		}
		primary, replica := d.data[0], d.data[1]
		if replica.Addr() == named {
			primary, replica = replica, primary
		} else if primary.Addr() != named {
			return fmt.Errorf("sentinel %s names %s, no server of this deployment", d.sentinels[0].Addr(), named)
		}
		if role := infoField(primary, "replication", "role"); role != "master" {
			return fmt.Errorf("%s is %q", primary.Addr(), role)
		}
		if info := infoSection(primary, "replication"); !strings.Contains(info, "port="+strconv.Itoa(replica.Port())+",state=online") {
			return fmt.Errorf("the primary does not list %s online:\n%s", replica.Addr(), info)
		}
		for _, s := range d.sentinels {
			addr, err := d.masterAddr(s)
			if err != nil {
				return err
			}
			if addr != named {
				return fmt.Errorf("sentinel %s names %s, sentinel %s %s", s.Addr(), addr, d.sentinels[0].Addr(), named)
			}
			c := d.client(s)
			replicas, err := c.Replicas(ctx, MasterName).Result()
			if err != nil {
				c.Close()
				return err
			}
			if !listsUp(replicas, replica) {
				c.Close()
				return fmt.Errorf("sentinel %s does not list %s as a replica that is up: %v", s.Addr(), replica.Addr(), replicas)
			}
			others, err := c.Sentinels(ctx, MasterName).Result()
			if err == nil && len(others) != len(d.sentinels)-1 {
				err = fmt.Errorf("sentinel %s knows %d other sentinels", s.Addr(), len(others))
			}
			if err == nil {
				err = c.CkQuorum(ctx, MasterName).Err()
			}
			c.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// listsUp reports whether replicas (SENTINEL REPLICAS) lists srv with
// flags "slave" alone: not down, not disconnected.
func listsUp(replicas []map[string]string, srv *Server) bool {
	for _, r := range replicas {
		if r["ip"] == "127.0.0.1" && r["port"] == strconv.Itoa(srv.Port()) && r["flags"] == "slave" &&
			r["master-link-status"] == "ok" {
			return true
		}
	}
	return false
}

// masterAddr asks sentinel s for the primary's host:port.
func (d *Sentinel) masterAddr(s *Server) (string, error) {
	c := d.client(s)
	defer c.Close()
	addr, err := c.GetMasterAddrByName(context.Background(), MasterName).Result()
	if err != nil {
		return "", err
	}
	if len(addr) != 2 {
		return "", fmt.Errorf("sentinel %s answered %v", s.Addr(), addr)
	}
	return net.JoinHostPort(addr[0], addr[1]), nil
}

func (d *Sentinel) client(s *Server) *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: 2 * time.Second})
}

// waitFor polls cond every 50ms until it returns nil, failing the test with
// its last error after sentinelTimeout.
func (d *Sentinel) waitFor(what string, cond func() error) {
	d.tb.Helper()
	deadline := time.Now().Add(sentinelTimeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			d.tb.Fatalf("redistest: waited %s for %s: %v", sentinelTimeout, what, err)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// infoSection returns srv's INFO section, "" when it does not answer.
func infoSection(srv *Server, section string) string {
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: 2 * time.Second})
	defer c.Close()
	info, err := c.Info(context.Background(), section).Result()
	if err != nil {
		return ""
	}
	return info
}

// infoField returns one field of srv's INFO section, "" when it has none.
func infoField(srv *Server, section, field string) string {
	for line := range strings.Lines(infoSection(srv, section)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}
