package testserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Redis is a throwaway redis-server on a loopback port. Stop and Start let
// a test take it down and bring it back on the same address.
type Redis struct {
	mu      sync.Mutex
	port    int
	dir     string
	durable bool
	extra   []string // more arguments, such as a cluster node's
	proc    *process
}

// running reports whether the server's process was started and not
// stopped.
func (r *Redis) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.proc != nil
}

// Addr is the server's host:port.
func (r *Redis) Addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

// URL is the server's redis:// URL.
func (r *Redis) URL() string { return "redis://" + r.Addr() }

// Stop ends the server the orderly way (SIGTERM): a durable server
// writes its append-only file out first.
func (r *Redis) Stop() { r.halt(syscall.SIGTERM) }

// Crash kills the server (SIGKILL), as a crash would.
func (r *Redis) Crash() { r.halt(syscall.SIGKILL) }

func (r *Redis) halt(sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		r.proc.halt(sig)
		r.proc = nil
	}
}

// Start (re)starts the server on its port: empty, or for a durable
// server with what its append-only file holds.
func (r *Redis) Start(t testing.TB) {
	t.Helper()
	if err := r.start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
}

func (r *Redis) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	aof := []string{"--appendonly", "no"}
	if r.durable {
		aof = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	cmd := exec.Command(bin, append([]string{"--port", fmt.Sprint(r.port), "--bind", "127.0.0.1", "--save", "",
		"--dir", r.dir, "--protected-mode", "no", "--loglevel", "warning"}, append(aof, r.extra...)...)...)
	var logs strings.Builder
	cmd.Stdout = &logs
	p, err := start(cmd, "")
	if err != nil {
		return err
	}
	err = waitFor(p, func() error {
		c, err := net.DialTimeout("tcp", r.Addr(), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			return err
		}
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		if err != nil || !strings.HasPrefix(string(buf[:n]), "+PONG") {
			return fmt.Errorf("no PONG: %v %q", err, buf[:n])
		}
		return nil
	})
	if err != nil {
		p.stop()
		return fmt.Errorf("%v; log: %s", err, logs.String())
	}
	r.proc = p
	return nil
}

// StartRedis starts a new throwaway redis-server for one test, stopped when
// the test ends. It keeps nothing across a restart. It skips or fails the
// test when redis-server is missing.
func StartRedis(t testing.TB) *Redis { return startRedis(t, false) }

// StartDurableRedis is StartRedis for a server that keeps every write
// across Stop, Crash and Start: an append-only file fsynced at each write.
func StartDurableRedis(t testing.TB) *Redis { return startRedis(t, true) }

func startRedis(t testing.TB, durable bool) *Redis {
	t.Helper()
	port, err := freePort()
	if err != nil {
		unavailable(t, "Redis", err)
	}
	dir, err := os.MkdirTemp("", "backoffice-redis-")
	if err != nil {
		t.Fatal(err)
	}
	r := &Redis{port: port, dir: dir, durable: durable}
	if err := r.start(); err != nil {
		os.RemoveAll(dir)
		unavailable(t, "Redis", err)
	}
	t.Cleanup(func() { r.Stop(); os.RemoveAll(dir) })
	return r
}

var (
	redisOnce   sync.Once
	redisURL    string
	redisErr    error
	redisShared *Redis
)

// RedisURL returns the URL of the test Redis server shared by a test
// binary: BACKOFFICE_TEST_REDIS_URL if set, else a throwaway server
// started the first time and stopped by Main. Tests isolate themselves
// with a key prefix of their own.
func RedisURL(t testing.TB) string {
	t.Helper()
	redisOnce.Do(func() {
		if u := os.Getenv("BACKOFFICE_TEST_REDIS_URL"); u != "" {
			redisURL = u
			return
		}
		port, err := freePort()
		if err != nil {
			redisErr = err
			return
		}
		dir, err := os.MkdirTemp("", "backoffice-redis-")
		if err != nil {
			redisErr = err
			return
		}
		redisShared = &Redis{port: port, dir: dir}
		if redisErr = redisShared.start(); redisErr != nil {
			os.RemoveAll(dir)
			return
		}
		atExit(func() { os.RemoveAll(dir) })
		redisURL = redisShared.URL()
	})
	if redisErr != nil {
		unavailable(t, "Redis", redisErr)
	}
	return redisURL
}
