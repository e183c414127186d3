package testserver

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// RedisCluster is a throwaway Redis Cluster on loopback ports: three
// masters, each with one replica (six redis-server --cluster-enabled yes,
// joined by redis-cli --cluster create --cluster-replicas 1). A node's
// failure is detected after a second (cluster-node-timeout), and its
// replica is then promoted.
type RedisCluster struct {
	Nodes []*Redis
	dir   string
}

// Addrs are the nodes' addresses, for goredis.ClusterOptions.Addrs.
func (c *RedisCluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// Node is the node listening on addr, nil if none is.
func (c *RedisCluster) Node(addr string) *Redis {
	for _, n := range c.Nodes {
		if n.Addr() == addr {
			return n
		}
	}
	return nil
}

// clusterPort is a port p free with p+10000 (the cluster bus) free too.
func clusterPort(taken map[int]bool) (int, error) {
	for range 200 {
		p := 20000 + rand.IntN(20000)
		if taken[p] || taken[p+10000] {
			continue
		}
		ok := true
		for _, q := range []int{p, p + 10000} {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", q))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			taken[p], taken[p+10000] = true, true
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free pair of ports for a cluster node")
}

func startCluster() (*RedisCluster, error) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "backoffice-redis-cluster-")
	if err != nil {
		return nil, err
	}
	c := &RedisCluster{dir: dir}
	taken := map[int]bool{}
	for i := range 6 {
		port, err := clusterPort(taken)
		if err != nil {
			c.stop()
			return nil, err
		}
		nd := fmt.Sprintf("%s/node%d", dir, i)
		if err := os.Mkdir(nd, 0o700); err != nil {
			c.stop()
			return nil, err
		}
		n := &Redis{port: port, dir: nd, extra: []string{"--cluster-enabled", "yes", "--cluster-config-file", nd + "/nodes.conf",
			"--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0", "--repl-diskless-sync-delay", "0"}}
		if err := n.start(); err != nil {
			c.stop()
			return nil, err
		}
		c.Nodes = append(c.Nodes, n)
	}
	out, err := exec.Command(cli, append(append([]string{"--cluster", "create"}, c.Addrs()...), "--cluster-replicas", "1", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("redis-cli --cluster create: %v: %s", err, out)
	}
	if err := c.waitOK(30 * time.Second); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// waitOK waits until every running node says the cluster is ok, with
// every slot served, and every running replica is in sync with its
// master.
func (c *RedisCluster) waitOK(d time.Duration) error {
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		ok, running, replicas := true, 0, 0
		for _, n := range c.Nodes {
			if !n.running() {
				continue
			}
			running++
			info, err := command(n.Addr(), "CLUSTER", "INFO")
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
				ok, last = false, fmt.Sprintf("%s: %v %s", n.Addr(), err, info)
				break
			}
			repl, err := command(n.Addr(), "INFO", "replication")
			if err != nil || strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
				ok, last = false, fmt.Sprintf("%s: %v %s", n.Addr(), err, repl)
				break
			}
			if strings.Contains(repl, "role:slave") {
				replicas++
			}
		}
		if ok && replicas != running-3 { // three masters; every other running node replicates one
			ok, last = false, fmt.Sprintf("%d of %d running nodes replicate", replicas, running)
		}
		if ok {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the cluster is not ok: %s", last)
}

// WaitOK waits until the running nodes agree the cluster serves every
// slot again and every running replica is in sync (after a failover, or
// a node's return).
func (c *RedisCluster) WaitOK(t testing.TB) {
	t.Helper()
	if err := c.waitOK(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func (c *RedisCluster) stop() {
	for _, n := range c.Nodes {
		n.Stop()
	}
	os.RemoveAll(c.dir)
}

// command sends one command in RESP and returns the reply's text.
func command(addr string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	head, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	switch head[0] {
	case '$', '=':
		var n int
		if _, err := fmt.Sscanf(head[1:], "%d", &n); err != nil || n < 0 {
			return "", fmt.Errorf("reply %q", head)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '-':
		return "", fmt.Errorf("%s", strings.TrimSpace(head[1:]))
	}
	return strings.TrimSpace(head[1:]), nil
}

// StartRedisCluster starts a cluster for one test, stopped when it ends:
// for a test that kills nodes.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	c, err := startCluster()
	if err != nil {
		unavailable(t, "Redis Cluster", err)
	}
	t.Cleanup(c.stop)
	return c
}

var (
	clusterOnce   sync.Once
	clusterShared *RedisCluster
	clusterErr    error
)

// RedisClusterAddrs are the nodes of the cluster a test binary shares,
// started the first time and stopped by Main. Tests isolate themselves
// with a key prefix of their own.
func RedisClusterAddrs(t testing.TB) []string {
	t.Helper()
	clusterOnce.Do(func() {
		clusterShared, clusterErr = startCluster()
		if clusterErr == nil {
			atExit(clusterShared.stop)
		}
	})
	if clusterErr != nil {
		unavailable(t, "Redis Cluster", clusterErr)
	}
	return clusterShared.Addrs()
}
