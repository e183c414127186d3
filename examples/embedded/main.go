// Command embedded is a small existing-looking service, a payments
// platform's admin app with its own pages, staff login and middleware,
// that mounts the back office inside it for two client companies (acme
// and globex): the console at /backoffice/ and the JSON API at
// /backoffice/api/, each request's tenant from its host name. It runs in
// memory with demo data:
//
//	go run ./examples/embedded            # http://acme.localhost:8081/backoffice/
//
// and prints the demo logins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "embedded:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends; listening, when not nil, receives the
// address once the server listens.
func run(ctx context.Context, addr string, out io.Writer, listening chan<- string) error {
	handler, h, err := newHost(ctx, out)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, t := range tenants {
		fmt.Fprintf(out, "%s: http://%s.localhost:%s/backoffice/ (API at /backoffice/api/) log in as demo_admin, or demo_<role>, with %s\n",
			t, t, port, string(h.demoPW[t]))
	}
	fmt.Fprintf(out, "with the platform's own staff login: http://acme.localhost:%s/login (staff login demo_admin)\n", port)
	fmt.Fprintf(out, "one address for every company (type acme or globex at login): http://127.0.0.1:%s/shared/backoffice/\n", port)
	fmt.Fprintf(out, "a company's own path: http://127.0.0.1:%s/t/acme/backoffice/\n", port)
	if listening != nil {
		listening <- ln.Addr().String()
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}
