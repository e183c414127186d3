package events

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/backoffice-go/backoffice"
)

// Syslog sends each event as an RFC 5424 message over TLS with RFC 5425's
// octet-counting framing ("LEN SP MSG"), the event's OCSF JSON as the
// message: facility 13 (log audit), a severity from the event's, MSGID
// "ocsf-<class_uid>". One connection is kept and made again after a
// failure. Build it with NewSyslog.
type Syslog struct {
	addr     string
	tls      *tls.Config
	hostname string
	dialer   net.Dialer
	now      func() time.Time

	mu   sync.Mutex
	conn net.Conn
}

// SyslogOptions are a syslog sink's optional settings.
type SyslogOptions struct {
	// Hostname is the messages' HOSTNAME; default os.Hostname.
	Hostname string
	// Now is the clock of the messages' TIMESTAMP; default time.Now.
	Now func() time.Time
}

// NewSyslog is a syslog sink to addr ("host:port"), over TLS with tlsConfig
// (its RootCAs trust the collector's certificate; ServerName defaults to
// the address's host). A bad address or a missing TLS configuration is an
// ErrInvalid error.
func NewSyslog(addr string, tlsConfig *tls.Config, opts *SyslogOptions) (*Syslog, error) {
	var v backoffice.Violations
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		v.Add("addr", "must be host:port")
	}
	if tlsConfig == nil {
		v.Add("tls", "syslog goes over TLS only (RFC 5425)")
	}
	if err := v.Err("events: syslog"); err != nil {
		return nil, err
	}
	s := &Syslog{addr: addr, tls: tlsConfig.Clone(), now: time.Now, dialer: net.Dialer{Timeout: 10 * time.Second}}
	if s.tls.ServerName == "" {
		s.tls.ServerName = host
	}
	s.tls.MinVersion = max(s.tls.MinVersion, tls.VersionTLS12)
	s.hostname, _ = os.Hostname()
	if opts != nil {
		if opts.Hostname != "" {
			s.hostname = opts.Hostname
		}
		if opts.Now != nil {
			s.now = opts.Now
		}
	}
	s.hostname = printable(s.hostname, 255)
	if s.hostname == "" {
		s.hostname = "-"
	}
	return s, nil
}

// Name names the sink in metrics and logs.
func (s *Syslog) Name() string { return "syslog " + s.addr }

// syslogSeverity is RFC 5424's severity of an OCSF severity id.
func syslogSeverity(ocsf int) int {
	switch ocsf {
	case SeverityInformational:
		return 6 // informational
	case SeverityLow:
		return 5 // notice
	case SeverityMedium:
		return 4 // warning
	case SeverityHigh:
		return 3 // error
	case SeverityCritical:
		return 2 // critical
	case 6:
		return 0 // emergency
	}
	return 5
}

// printable keeps the printable US-ASCII of s, at most n bytes: what
// RFC 5424's header fields may hold.
func printable(s string, n int) string {
	b := make([]byte, 0, min(len(s), n))
	for i := 0; i < len(s) && len(b) < n; i++ {
		if c := s[i]; c >= 33 && c <= 126 {
			b = append(b, c)
		}
	}
	return string(b)
}

// Format is the event as an RFC 5424 message, framed as RFC 5425 says.
func (s *Syslog) Format(e Event) ([]byte, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	const facility = 13 // log audit
	msg := fmt.Appendf(nil, "<%d>1 %s %s backoffice - ocsf-%d - ", facility*8+syslogSeverity(e.SeverityID),
		s.now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"), s.hostname, e.ClassUID)
	msg = append(msg, body...)
	return append(strconv.AppendInt(nil, int64(len(msg)), 10), append([]byte{' '}, msg...)...), nil
}

// Send writes the event on the connection, made first when there is
// none. A failed write closes it: the event is to be sent again, on a new
// one.
func (s *Syslog) Send(ctx context.Context, e Event) error {
	frame, err := s.Format(e)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		d := tls.Dialer{NetDialer: &s.dialer, Config: s.tls}
		c, err := d.DialContext(ctx, "tcp", s.addr)
		if err != nil {
			return fmt.Errorf("events: syslog: %w", err)
		}
		s.conn = c
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	_ = s.conn.SetWriteDeadline(deadline)
	if _, err := s.conn.Write(frame); err != nil {
		_ = s.conn.Close()
		s.conn = nil
		return fmt.Errorf("events: syslog: %w", err)
	}
	return nil
}

// Close ends the connection.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
