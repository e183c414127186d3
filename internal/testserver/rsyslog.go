package testserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Rsyslog is a throwaway rsyslogd receiving syslog over TLS (RFC 5425,
// Debian's rsyslog and rsyslog-gnutls) on a loopback port, with a CA of
// its own made for the test, and writing each message it receives to a
// file as "MSGID MSG".
type Rsyslog struct {
	Addr string
	// CA is the throwaway CA's certificate, which signed the server's.
	CA *x509.Certificate
	// File is where rsyslogd writes what it receives.
	File string
	p    *process
}

// TLSConfig trusts the throwaway CA, and only it.
func (r *Rsyslog) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(r.CA)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Stop stops rsyslogd.
func (r *Rsyslog) Stop() { r.p.stop() }

// StartRsyslog starts rsyslogd for one test, stopped when the test ends;
// it skips or fails the test when rsyslogd or its TLS driver is missing.
func StartRsyslog(t testing.TB) *Rsyslog {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		unavailable(t, "rsyslogd", err)
	}
	if matches, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(matches) == 0 {
		unavailable(t, "rsyslog-gnutls", errors.New("no lmnsd_gtls.so under /usr/lib/*/rsyslog"))
	}
	dir, err := os.MkdirTemp("", "backoffice-rsyslog-")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := writeCerts(dir)
	if err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		unavailable(t, "rsyslogd", err)
	}
	r := &Rsyslog{Addr: fmt.Sprintf("127.0.0.1:%d", port), CA: ca, File: filepath.Join(dir, "received.log")}
	conf := fmt.Sprintf(`global(
  workDirectory=%[1]q
  maxMessageSize="64k"
  DefaultNetstreamDriver="gtls"
  DefaultNetstreamDriverCAFile=%[2]q
  DefaultNetstreamDriverCertFile=%[3]q
  DefaultNetstreamDriverKeyFile=%[4]q
)
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
input(type="imtcp" address="127.0.0.1" port="%[5]d")
template(name="received" type="string" string="%%msgid%% %%msg%%\n")
action(type="omfile" file=%[6]q template="received")
`, dir, filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), port, r.File)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	// Its own complaints (the readiness probe's bare connections, a
	// refused handshake) go to a file of its directory.
	out, err := os.Create(filepath.Join(dir, "rsyslogd.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	p, err := start(cmd, dir)
	if err != nil {
		os.RemoveAll(dir)
		unavailable(t, "rsyslogd", err)
	}
	r.p = p
	if err := waitFor(p, func() error {
		c, err := net.DialTimeout("tcp", r.Addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		p.stop()
		unavailable(t, "rsyslogd", err)
	}
	t.Cleanup(r.Stop)
	return r
}

// writeCerts makes a CA and a server certificate for 127.0.0.1 signed by
// it, in dir as ca.pem, server.pem and server-key.pem.
func writeCerts(dir string) (*x509.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "backoffice test CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	for name, block := range map[string]*pem.Block{"ca.pem": {Type: "CERTIFICATE", Bytes: caDER}, "server.pem": {Type: "CERTIFICATE", Bytes: der},
		"server-key.pem": {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			return nil, err
		}
	}
	return ca, nil
}
