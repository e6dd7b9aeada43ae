package redistest

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is a Redis Cluster of masters without replicas, owned by one
// test: redis-server processes started with --cluster-enabled yes, joined
// by `redis-cli --cluster create`.
type Cluster struct {
	// Masters are the cluster's servers, each serving a third (for three)
	// of the hash slots.
	Masters []*Server
}

// StartCluster starts masters redis-servers with cluster mode on, on free
// ports, joins them into one cluster with `redis-cli --cluster create
// --cluster-replicas 0`, and returns once every node reports
// cluster_state:ok and knows every other node. The servers are killed when
// the test ends. A missing redis-server or redis-cli fails the test.
func StartCluster(tb testing.TB, masters int) *Cluster {
	tb.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		tb.Fatalf("redistest: redis-cli is not in PATH (%v): install it with "+
			"`apt-get install -y redis-server` (which brings redis-tools), or run `make test`, which installs it", err)
	}
	c := &Cluster{}
	for range masters {
		c.Masters = append(c.Masters, Start(tb, WithArgs("--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")))
	}
	args := []string{"--cluster", "create"}
	for _, m := range c.Masters {
		args = append(args, m.Addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command(cli, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.waitOK(cli, 60*time.Second); err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	return c
}

// URL is the cluster's redis+cluster:// URL: the first master as host,
// the others as addr parameters.
func (c *Cluster) URL() string {
	u := "redis+cluster://" + c.Masters[0].Addr()
	for i, m := range c.Masters[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + m.Addr()
	}
	return u
}

// Addrs lists the masters' host:port.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Masters))
	for i, m := range c.Masters {
		addrs[i] = m.Addr()
	}
	return addrs
}

// waitOK polls CLUSTER INFO on every node until each reports
// cluster_state:ok, all 16384 slots served and every node known.
func (c *Cluster) waitOK(cli string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	want := []string{"cluster_state:ok", "cluster_slots_ok:16384", "cluster_known_nodes:" + strconv.Itoa(len(c.Masters))}
	for {
		var missing string
		for _, m := range c.Masters {
			out, err := exec.Command(cli, "-p", strconv.Itoa(m.Port()), "cluster", "info").Output()
			if err != nil {
				missing = fmt.Sprintf("%s: cluster info: %v", m.Addr(), err)
				break
			}
			for _, w := range want {
				if !strings.Contains(string(out), w) {
					missing = m.Addr() + " does not report " + w
					break
				}
			}
			if missing != "" {
				break
			}
		}
		if missing == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the cluster is not ready after %s: %s", timeout, missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
