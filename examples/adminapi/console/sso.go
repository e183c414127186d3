package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// SSO is the OpenID Connect identity provider operators of an SSO tenant
// sign in with: the authorization code flow with PKCE, a state and a
// nonce, the ID token's signature checked against the provider's keys.
type SSO struct {
	// Issuer is the provider's issuer URL; its discovery document is read
	// at the first sign-in.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is this console's /sso/callback as the provider knows it.
	RedirectURL string
	// GroupsClaim names the userinfo claim listing the person's groups,
	// which the tenant's mapping turns into roles; default "groups".
	GroupsClaim string
}

const ssoCookie = "bo_sso"

// ssoClient is the provider once discovered.
type ssoClient struct {
	mu       sync.Mutex
	cfg      *SSO
	provider *oidc.Provider
}

func (s *ssoClient) discover(ctx context.Context) (*oidc.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider == nil {
		p, err := oidc.NewProvider(ctx, s.cfg.Issuer)
		if err != nil {
			return nil, backoffice.Errorf(backoffice.ErrUnavailable, "console: sso", "the identity provider cannot be reached: %v", err)
		}
		s.provider = p
	}
	return s.provider, nil
}

func (s *ssoClient) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, RedirectURL: s.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
}

// ssoForm is the login page's single sign-on: which protocols it offers.
func (c *Console) ssoForm(r *http.Request) loginForm {
	if c.cfg.TenantField {
		return loginForm{TenantField: true} // no tenant before the form is sent
	}
	tenant, ok := c.tenant(r)
	if !ok {
		return loginForm{}
	}
	t, err := c.cfg.Ops.Tenant(accessctl.NewContext(r.Context(), accessctl.SystemActor(tenant, "console")))
	if err != nil {
		return loginForm{}
	}
	if !t.SSO.Enabled {
		return loginForm{Passwordless: t.WebAuthn.Passwordless}
	}
	f := loginForm{OIDC: c.sso != nil}
	if c.cfg.SAMLLogin != "" && t.SSO.SAML.On() {
		f.SAML = c.cfg.SAMLLogin
	}
	f.SSO = f.OIDC || f.SAML != ""
	return f
}

// SignedIn finishes a sign-in the library accepted elsewhere (a SAML
// response, say): it sets the session cookie and opens the console.
func (c *Console) SignedIn(w http.ResponseWriter, r *http.Request, res *accessctl.LoginResult) {
	c.setCookie(w, r, sessionCookie, string(res.Session), int(res.ExpiresAt.Sub(c.cfg.Now()).Seconds()))
	c.redirect(w, r, "/users")
}

// SignInRefused answers a refused sign-in through the identity provider
// with the login page and the one message, whatever the reason.
func (c *Console) SignInRefused(w http.ResponseWriter, r *http.Request) {
	f := c.ssoForm(r)
	f.Refused = true
	c.render(w, r, http.StatusUnauthorized, "login", "Log in", f, "Your identity provider's sign-in was refused; start again, or ask your administrator.")
}

func random() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ssoStart sends the browser to the provider, keeping the state, the
// nonce and the PKCE verifier in a short-lived cookie of this site.
func (c *Console) ssoStart(w http.ResponseWriter, r *http.Request) {
	if c.sso == nil || !c.ssoForm(r).OIDC {
		c.redirect(w, r, "/login")
		return
	}
	p, err := c.sso.discover(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: state + "." + nonce + "." + verifier, Path: c.cfg.Prefix + "/sso/", MaxAge: 600,
		HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, c.sso.oauth(p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusSeeOther)
}

// claims are what the console reads of the person, from the ID token and
// the userinfo endpoint.
type claims struct {
	Email      string `json:"email"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
}

// ssoCallback checks the provider's answer, then has the library
// provision or update the operator from it and open a session.
func (c *Console) ssoCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	refuse := func(msg string, err error) {
		if err != nil {
			c.cfg.Log.WarnContext(ctx, "console: sso", "err", err)
		}
		c.render(w, r, http.StatusUnauthorized, "login", "Log in", c.ssoForm(r), msg)
	}
	ck, err := r.Cookie(ssoCookie)
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Path: c.cfg.Prefix + "/sso/", MaxAge: -1, HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteLaxMode})
	if err != nil || c.sso == nil {
		refuse("The sign-in expired; start again.", nil)
		return
	}
	parts := strings.Split(ck.Value, ".")
	q := r.URL.Query()
	if len(parts) != 3 || subtle.ConstantTimeCompare([]byte(parts[0]), []byte(q.Get("state"))) != 1 {
		refuse("The sign-in expired; start again.", nil)
		return
	}
	if e := q.Get("error"); e != "" {
		refuse("The identity provider refused the sign-in.", fmt.Errorf("provider error %q: %s", e, q.Get("error_description")))
		return
	}
	p, err := c.sso.discover(ctx)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	conf := c.sso.oauth(p)
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(parts[2]))
	if err != nil {
		refuse("The identity provider refused the sign-in.", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: c.sso.cfg.ClientID}).Verify(ctx, raw)
	if err != nil || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(parts[1])) != 1 {
		refuse("The identity provider's answer could not be checked.", err)
		return
	}
	var who claims
	if err := idt.Claims(&who); err != nil {
		refuse("The identity provider's answer could not be read.", err)
		return
	}
	info, err := p.UserInfo(ctx, conf.TokenSource(ctx, tok))
	if err != nil {
		refuse("The identity provider's answer could not be read.", err)
		return
	}
	var extra map[string]any
	if err := info.Claims(&extra); err != nil {
		refuse("The identity provider's answer could not be read.", err)
		return
	}
	_ = info.Claims(&who) // the userinfo's names and email, where it has them
	as := accessctl.Assertion{Subject: idt.Subject, Email: who.Email, FirstName: who.GivenName, LastName: who.FamilyName,
		Groups: stringList(extra[c.sso.cfg.GroupsClaim])}
	tenant, _ := c.tenant(r)
	res, err := c.cfg.Ops.ProvisionSSO(ctx, tenant, as)
	switch {
	case errors.Is(err, backoffice.ErrForbidden), errors.Is(err, backoffice.ErrFailedPrecondition):
		refuse("Your identity provider's groups give you no role here.", err)
		return
	case err != nil:
		c.fail(w, r, err)
		return
	}
	c.setCookie(w, r, sessionCookie, string(res.Session), int(res.ExpiresAt.Sub(c.cfg.Now()).Seconds()))
	c.redirect(w, r, "/users")
}

// stringList reads a claim that is a list of strings, or one string.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, s := range v {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
