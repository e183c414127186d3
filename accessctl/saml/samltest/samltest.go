// Package samltest runs an identity provider in the test's process
// (github.com/crewjam/saml's samlidp, on a loopback port) and plays both
// an honest browser's sign-in and an attacker's forged responses against
// a SAML service provider.
package samltest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	csaml "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlidp"
	"github.com/crewjam/saml/samlsp"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// Password is every user's password at the identity provider.
const Password = "idp-password"

// IdP is an identity provider on a loopback port.
type IdP struct {
	t      testing.TB
	Server *samlidp.Server
	HTTP   *httptest.Server
	Key    *rsa.PrivateKey
	Cert   *x509.Certificate
}

// KeyPair returns a fresh RSA key and a self-signed certificate for it.
func KeyPair(t testing.TB, name string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return key, cert
}

// NewIdP starts an identity provider.
func NewIdP(t testing.TB) *IdP {
	t.Helper()
	key, cert := KeyPair(t, "idp")
	hs := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(hs.Close)
	u, err := url.Parse(hs.URL)
	require.NoError(t, err)
	srv, err := samlidp.New(samlidp.Options{URL: *u, Key: key, Certificate: cert, Store: &samlidp.MemoryStore{}})
	require.NoError(t, err)
	hs.Config.Handler = srv
	return &IdP{t: t, Server: srv, HTTP: hs, Key: key, Cert: cert}
}

// Metadata is the identity provider's metadata document.
func (p *IdP) Metadata() string {
	p.t.Helper()
	res, err := http.Get(p.HTTP.URL + "/metadata")
	require.NoError(p.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(p.t, err)
	require.Equal(p.t, http.StatusOK, res.StatusCode)
	return string(b)
}

// MetadataURL is where the identity provider publishes its metadata.
func (p *IdP) MetadataURL() string { return p.HTTP.URL + "/metadata" }

// AddUser adds a person whose NameID is its email.
func (p *IdP) AddUser(name, email, given, family string, groups ...string) {
	p.t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(Password), bcrypt.MinCost)
	require.NoError(p.t, err)
	require.NoError(p.t, p.Server.Store.Put("/users/"+name, samlidp.User{Name: name, HashedPassword: hash, Email: email,
		GivenName: given, Surname: family, Groups: groups}))
}

// Trust registers a service provider by its metadata URL, as an
// administrator of the identity provider would (PUT /services/{name}).
func (p *IdP) Trust(name, spMetadataURL string) *csaml.EntityDescriptor {
	p.t.Helper()
	res, err := http.Get(spMetadataURL)
	require.NoError(p.t, err)
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(p.t, err)
	require.Equal(p.t, http.StatusOK, res.StatusCode, "the service provider's metadata: %s", raw)
	md, err := samlsp.ParseMetadata(raw)
	require.NoError(p.t, err)
	req, err := http.NewRequest(http.MethodPut, p.HTTP.URL+"/services/"+name, bytes.NewReader(raw))
	require.NoError(p.t, err)
	res, err = http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	res.Body.Close()
	require.Less(p.t, res.StatusCode, 300, "registering the service provider")
	return md
}

// Browser is a browser without JavaScript: it follows redirects, keeps
// cookies, and submits the forms the identity provider answers with.
type Browser struct {
	t      testing.TB
	Client *http.Client
	// requestCookie is the service provider's request cookie, which a
	// Go cookie jar keeps from http:// sites when it is Secure.
	requestCookie *http.Cookie
}

// NewBrowser returns a browser with an empty cookie jar.
func NewBrowser(t testing.TB) *Browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &Browser{t: t, Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	hiddenIn   = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// form reads a page's form: its action and hidden fields.
func form(page string) (string, url.Values) {
	v := url.Values{}
	action := ""
	if m := formAction.FindStringSubmatch(page); m != nil {
		action = html.UnescapeString(m[1])
	}
	for _, m := range hiddenIn.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return action, v
}

func (b *Browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	if b.requestCookie != nil && strings.HasSuffix(req.URL.Path, "/acs") {
		req.AddCookie(b.requestCookie)
	}
	res, err := b.Client.Do(req)
	require.NoError(b.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(b.t, err)
	for _, c := range res.Cookies() {
		if c.Name == "bo_saml_request" && c.MaxAge >= 0 {
			// Kept when the service provider clears it: an attacker
			// replaying a response has it too.
			b.requestCookie = &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	return res, string(body)
}

// Get fetches a URL, following redirects.
func (b *Browser) Get(u string) (*http.Response, string) {
	b.t.Helper()
	for range 10 {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		require.NoError(b.t, err)
		res, body := b.do(req)
		if loc := res.Header.Get("Location"); loc != "" && res.StatusCode >= 300 && res.StatusCode < 400 {
			next, err := res.Request.URL.Parse(loc)
			require.NoError(b.t, err)
			u = next.String()
			continue
		}
		return res, body
	}
	b.t.Fatal("too many redirects")
	return nil, ""
}

// Post submits a form.
func (b *Browser) Post(u string, v url.Values) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// SignIn starts a sign-in at the service provider's login URL, logs in
// at the identity provider as user, and returns the response the
// identity provider's page would post to the ACS, with the ACS URL,
// without posting it.
func (b *Browser) SignIn(loginURL, user string) (acs string, response url.Values) {
	b.t.Helper()
	res, page := b.Get(loginURL)
	require.Equal(b.t, http.StatusOK, res.StatusCode, "the identity provider's login form: %s", page)
	action, v := form(page)
	v.Set("user", user)
	v.Set("password", Password)
	to, err := res.Request.URL.Parse(action)
	require.NoError(b.t, err)
	res, page = b.Post(to.String(), v)
	require.Equal(b.t, http.StatusOK, res.StatusCode, "the identity provider's answer: %s", page)
	action, v = form(page)
	require.NotEmpty(b.t, v.Get("SAMLResponse"), "an auto-posting form with the response: %s", page)
	return action, v
}

// PostResponse posts a response to the ACS as the identity provider's
// page would, and returns the answer.
func (b *Browser) PostResponse(acs string, response url.Values) (*http.Response, string) {
	b.t.Helper()
	return b.Post(acs, response)
}

// Forge makes a response as the identity provider would for sp, in answer
// to requestID ("" for an unsolicited one), then lets edit change it
// before it is encoded: the attacker's tool. Signed with signer's key
// (the identity provider's, or another).
func Forge(t testing.TB, signer *csaml.IdentityProvider, sp *csaml.EntityDescriptor, requestID string, now time.Time,
	session *csaml.Session, edit func(resp *etree.Element)) url.Values {
	t.Helper()
	req := &csaml.IdpAuthnRequest{IDP: signer, Now: now, ServiceProviderMetadata: sp, SPSSODescriptor: &sp.SPSSODescriptors[0],
		ACSEndpoint: &sp.SPSSODescriptors[0].AssertionConsumerServices[0], Request: csaml.AuthnRequest{ID: requestID},
		HTTPRequest: httptest.NewRequest(http.MethodGet, "/", nil)}
	require.NoError(t, csaml.DefaultAssertionMaker{}.MakeAssertion(req, session))
	require.NoError(t, req.MakeResponse())
	resp := req.ResponseEl
	if edit != nil {
		edit(resp)
	}
	doc := etree.NewDocument()
	doc.SetRoot(resp)
	raw, err := doc.WriteToBytes()
	require.NoError(t, err)
	return url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(raw)}}
}

// Session is what the identity provider knows of a signed-in person.
func Session(email, given, family string, groups ...string) *csaml.Session {
	return &csaml.Session{ID: fmt.Sprint(time.Now().UnixNano()), NameID: email, NameIDFormat: string(csaml.EmailAddressNameIDFormat),
		UserEmail: email, UserGivenName: given, UserSurname: family, Groups: groups, CreateTime: time.Now(), ExpireTime: time.Now().Add(time.Hour),
		Index: "1"}
}

// Signer is an identity provider that signs as p does, with another key
// when key is not nil.
func (p *IdP) Signer(key *rsa.PrivateKey, cert *x509.Certificate) *csaml.IdentityProvider {
	idp := p.Server.IDP
	if key != nil {
		idp.Key, idp.Signer, idp.Certificate = key, nil, cert
	}
	return &idp
}

// Unsign removes every signature of the response and its assertions.
func Unsign(resp *etree.Element) {
	for _, sig := range resp.FindElements("//Signature") {
		sig.Parent().RemoveChild(sig)
	}
}

// Wrap injects, before the signed assertion, an unsigned copy whose
// subject and groups the attacker chose: signature wrapping.
func Wrap(email string, groups ...string) func(resp *etree.Element) {
	return func(resp *etree.Element) {
		signed := resp.FindElement("./Assertion")
		evil := signed.Copy()
		for _, sig := range evil.FindElements("./Signature") {
			evil.RemoveChild(sig)
		}
		evil.CreateAttr("ID", "id-evil")
		if nameID := evil.FindElement(".//NameID"); nameID != nil {
			nameID.SetText(email)
		}
		for _, a := range evil.FindElements(".//Attribute") {
			if a.SelectAttrValue("FriendlyName", "") == "mail" {
				for _, v := range a.FindElements("./AttributeValue") {
					v.SetText(email)
				}
			}
			if a.SelectAttrValue("FriendlyName", "") == "eduPersonAffiliation" {
				for _, v := range a.FindElements("./AttributeValue") {
					a.RemoveChild(v)
				}
				for _, g := range groups {
					v := a.CreateElement("saml:AttributeValue")
					v.SetText(g)
				}
			}
		}
		resp.InsertChildAt(signed.Index(), evil)
	}
}

// Encode is a raw response document as the form field carries it.
func Encode(doc []byte) url.Values {
	return url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(bytes.TrimSpace(doc))}}
}
