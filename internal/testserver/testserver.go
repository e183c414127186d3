// Package testserver starts throwaway PostgreSQL and Redis servers for the
// integration tests: in a temporary directory, on a free loopback port,
// without durability (fsync off, no persistence), stopped and removed when
// the test binary ends. BACKOFFICE_TEST_POSTGRES_DSN and
// BACKOFFICE_TEST_REDIS_URL point the tests at existing servers instead.
//
// When a server cannot be had, the tests that need it are skipped, unless
// BACKOFFICE_REQUIRE_INTEGRATION=1 (as make test sets), which fails them.
package testserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Main runs the tests and then stops the servers they started. Use it as
// a package's TestMain: func TestMain(m *testing.M) { testserver.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	stopAll()
	os.Exit(code)
}

var (
	mu       sync.Mutex
	running  []*process
	cleanups []func()
)

func stopAll() {
	mu.Lock()
	defer mu.Unlock()
	for _, p := range running {
		p.stop()
	}
	running = nil
	for _, f := range cleanups {
		f()
	}
	cleanups = nil
}

// AtExit runs f when Main ends, after the servers stopped: for what a
// test binary makes once and shares, such as a built program.
func AtExit(f func()) { atExit(f) }

func atExit(f func()) {
	mu.Lock()
	defer mu.Unlock()
	cleanups = append(cleanups, f)
}

// unavailable skips or fails the test, as BACKOFFICE_REQUIRE_INTEGRATION says.
func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("BACKOFFICE_REQUIRE_INTEGRATION") == "1" {
		t.Fatalf("%s is required (BACKOFFICE_REQUIRE_INTEGRATION=1) but unavailable: %v", what, err)
	}
	t.Skipf("%s not installed or not startable: %v (set BACKOFFICE_REQUIRE_INTEGRATION=1 to fail instead)", what, err)
}

// freePort returns a loopback port nobody listens on.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// process is a server started by a test binary.
type process struct {
	cmd  *exec.Cmd
	dir  string
	sig  syscall.Signal // what stops it; SIGTERM when zero
	done chan struct{}
}

func (p *process) stop() {
	sig := p.sig
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	p.halt(sig)
}

// halt sends sig, waits for the process to exit (killing it after ten
// seconds) and removes its directory.
func (p *process) halt(sig syscall.Signal) {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(sig)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	if p.dir != "" {
		_ = os.RemoveAll(p.dir)
	}
}

// start runs a server command and remembers it for stopAll. The server is
// also killed if the test binary dies without stopping it (a timeout's
// panic, say), so none is left behind.
func start(cmd *exec.Cmd, dir string) (*process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, dir: dir, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	mu.Lock()
	running = append(running, p)
	mu.Unlock()
	return p, nil
}

// waitFor polls ready until it succeeds, the process dies, or time runs out.
func waitFor(p *process, ready func() error) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("the server exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server did not become ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// asUser makes cmd run as the named system user when the tests run as
// root, which PostgreSQL refuses; it returns the uid and gid to give the
// server's directories to, or -1 when nothing changes.
func asUser(cmd *exec.Cmd, name string) (int, int, error) {
	if os.Geteuid() != 0 {
		return -1, -1, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Errorf("running as root and no %q user to run the server as: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	return uid, gid, nil
}

// postgresBin finds a PostgreSQL program: on PATH, or in the newest
// /usr/lib/postgresql/<version>/bin where Debian installs it.
func postgresBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New(name + " not found on PATH nor in /usr/lib/postgresql/*/bin")
}

func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// Chromium returns the path of a Chromium (or Chrome) for browser tests.
// It skips or fails the test when there is none, as
// BACKOFFICE_REQUIRE_INTEGRATION says.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	unavailable(t, "Chromium", errors.New("none of chromium, chromium-browser, google-chrome on PATH"))
	return ""
}
