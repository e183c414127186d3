package testserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// StartHAProxy starts Debian's haproxy for one test, on a free loopback
// port, balancing HTTP round robin, with no stickiness, over the
// backends (host:port). Each backend is health-checked every 200 ms on
// /healthz and taken out at its first failed check; a request whose
// connection a backend refuses is sent to another. It returns the
// address it listens on.
func StartHAProxy(t testing.TB, backends []string) string {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		unavailable(t, "haproxy", err)
	}
	port, err := freePort()
	if err != nil {
		unavailable(t, "haproxy", err)
	}
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, `global
    maxconn 2048
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
    retry-on conn-failure empty-response
frontend api
    bind 127.0.0.1:%d
    default_backend instances
backend instances
    balance roundrobin
    option httpchk GET /healthz
    default-server inter 200ms fall 1 rise 2
`, port)
	for i, addr := range backends {
		fmt.Fprintf(&b, "    server app%d %s check\n", i, addr)
	}
	conf := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(conf, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", conf)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	p, err := start(cmd, "")
	if err != nil {
		unavailable(t, "haproxy", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	err = waitFor(p, func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err != nil {
		p.stop()
		t.Fatalf("haproxy: %v: %s", err, logs.String())
	}
	t.Cleanup(p.stop)
	return addr
}
