// Package saml is a SAML 2.0 service provider for the tenants of an
// accessctl.Service that sign their operators in through their company's
// identity provider (I1): SP-initiated Web Browser SSO, the AuthnRequest
// sent with the HTTP-Redirect binding and the response received with the
// HTTP-POST binding, checked by github.com/crewjam/saml.
//
// A response is accepted only if the response or its assertion is signed
// with a certificate of the tenant's identity-provider metadata; its
// audience is the tenant's service provider; its destination and
// recipient are the tenant's assertion consumer service; it answers the
// request this browser started (InResponseTo, kept in a cookie), unless
// the tenant allows IdP-initiated sign-in; it is within its validity
// window, allowing saml.MaxClockSkew (three minutes) of skew; and its
// assertion id was never accepted before on any instance (the service's
// OnceStore: Redis when the host keeps tokens there). Every refusal
// answers the browser with the one refusal page, provisions nothing, and
// records its reason in the audit log and Config.Events
// (Service.RefuseSSO).
//
// The operator is then found, linked, provisioned and given the roles of
// its groups by accessctl.Service.ProvisionSSO, exactly as an OpenID
// Connect sign-in is.
//
// Mount it under any path, with Options.BaseURL its absolute URL:
//
//	mux.Handle("/saml/", http.StripPrefix("/saml", saml.NewHandler(ops, saml.Options{
//		BaseURL: "https://admin.example.com/saml",
//		Done:    func(w http.ResponseWriter, r *http.Request, res *accessctl.LoginResult) { /* set the session cookie */ },
//	})))
//
// Per tenant it serves /{tenant}/metadata (the service provider's
// metadata, to give the identity provider), /{tenant}/login (starts a
// sign-in) and /{tenant}/acs (the assertion consumer service).
package saml

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	csaml "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// Options configure the handler.
type Options struct {
	// BaseURL is the handler's absolute URL as browsers and identity
	// providers reach it, without a trailing slash.
	BaseURL string
	// Key and Certificate, when set, are the service provider's own key
	// pair: published in its metadata, used to sign AuthnRequests and to
	// decrypt encrypted assertions. Without them requests go unsigned.
	Key         crypto.Signer
	Certificate *x509.Certificate
	// HTTPClient fetches identity-provider metadata published at a URL;
	// nil means a client with a 10-second timeout.
	HTTPClient *http.Client
	// MetadataTTL is how long fetched metadata is kept; 0 means an hour.
	MetadataTTL time.Duration
	// Done finishes a sign-in the library accepted: it sets the host's
	// session cookie from res and sends the browser on. Required.
	Done func(w http.ResponseWriter, r *http.Request, res *accessctl.LoginResult)
	// Refused answers a refused sign-in. Nil: a 401 page saying the
	// sign-in was refused. Whatever the reason, the browser is told the
	// same; the reason goes to the audit log.
	Refused func(w http.ResponseWriter, r *http.Request)
	// Log receives what the browser is not told. Nil: slog.Default().
	Log *slog.Logger
}

// Handler serves the SAML endpoints of every tenant.
type Handler struct {
	ops  *accessctl.Service
	opts Options
	mux  *http.ServeMux

	mu      sync.Mutex
	fetched map[string]fetchedMetadata // by URL
}

type fetchedMetadata struct {
	md *csaml.EntityDescriptor
	at time.Time
}

// cookieName holds the id of the AuthnRequest a browser started.
const cookieName = "bo_saml_request"

// NewHandler returns the service provider over ops.
func NewHandler(ops *accessctl.Service, opts Options) *Handler {
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.MetadataTTL <= 0 {
		opts.MetadataTTL = time.Hour
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Refused == nil {
		opts.Refused = func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = fmt.Fprintln(w, "The sign-in was refused. Start again from the login page, or ask your administrator.")
		}
	}
	h := &Handler{ops: ops, opts: opts, mux: http.NewServeMux(), fetched: map[string]fetchedMetadata{}}
	h.mux.HandleFunc("GET /{tenant}/metadata", h.metadata)
	h.mux.HandleFunc("GET /{tenant}/login", h.login)
	h.mux.HandleFunc("POST /{tenant}/acs", h.acs)
	return h
}

// ServeHTTP serves the endpoints.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

// MetadataURL is the service provider's metadata URL (and entity id) for
// a tenant: what its identity provider is configured with.
func (h *Handler) MetadataURL(tenant backoffice.TenantID) string {
	return h.opts.BaseURL + "/" + url.PathEscape(string(tenant)) + "/metadata"
}

// ACSURL is the tenant's assertion consumer service URL.
func (h *Handler) ACSURL(tenant backoffice.TenantID) string {
	return h.opts.BaseURL + "/" + url.PathEscape(string(tenant)) + "/acs"
}

// LoginURL is where a browser starts a tenant's sign-in.
func (h *Handler) LoginURL(tenant backoffice.TenantID) string {
	return h.opts.BaseURL + "/" + url.PathEscape(string(tenant)) + "/login"
}

// errRefused is a sign-in refused for reason, which is recorded, never
// shown.
type errRefused struct{ reason string }

func (e *errRefused) Error() string { return "saml: refused: " + e.reason }

// serviceProvider is the tenant's service provider, with the identity
// provider its settings trust.
func (h *Handler) serviceProvider(ctx context.Context, tenant backoffice.TenantID) (*csaml.ServiceProvider, *accessctl.Tenant, error) {
	t, err := h.ops.Tenant(accessctl.NewContext(ctx, accessctl.SystemActor(tenant, "saml")))
	if errors.Is(err, backoffice.ErrNotFound) {
		return nil, nil, &errRefused{"unknown tenant"}
	}
	if err != nil {
		return nil, nil, err
	}
	if !t.SSO.Enabled || !t.SSO.SAML.On() {
		return nil, nil, &errRefused{"the tenant does not sign in over SAML"}
	}
	md, err := h.idpMetadata(ctx, t.SSO.SAML)
	if err != nil {
		return nil, nil, err
	}
	metadataURL, _ := url.Parse(h.MetadataURL(tenant))
	acsURL, _ := url.Parse(h.ACSURL(tenant))
	sp := &csaml.ServiceProvider{
		EntityID: metadataURL.String(), Key: h.opts.Key, Certificate: h.opts.Certificate,
		MetadataURL: *metadataURL, AcsURL: *acsURL, IDPMetadata: md, HTTPClient: h.opts.HTTPClient,
		AllowIDPInitiated: t.SSO.SAML.AllowIdPInitiated,
		AuthnNameIDFormat: csaml.UnspecifiedNameIDFormat,
		ReplayCache:       &replayCache{ctx: ctx, ops: h.ops, tenant: tenant},
	}
	return sp, t, nil
}

// idpMetadata parses the tenant's identity-provider metadata, or fetches
// it from its URL (kept for MetadataTTL).
func (h *Handler) idpMetadata(ctx context.Context, c accessctl.SAMLConfig) (*csaml.EntityDescriptor, error) {
	if c.IdPMetadata != "" {
		md, err := samlsp.ParseMetadata([]byte(c.IdPMetadata))
		if err != nil {
			return nil, &errRefused{"the identity provider's metadata does not parse: " + err.Error()}
		}
		return md, nil
	}
	h.mu.Lock()
	f, ok := h.fetched[c.IdPMetadataURL]
	h.mu.Unlock()
	if ok && time.Since(f.at) < h.opts.MetadataTTL {
		return f.md, nil
	}
	u, err := url.Parse(c.IdPMetadataURL)
	if err != nil {
		return nil, &errRefused{"the identity provider's metadata URL does not parse"}
	}
	md, err := samlsp.FetchMetadata(ctx, h.opts.HTTPClient, *u)
	if err != nil {
		return nil, backoffice.Errorf(backoffice.ErrUnavailable, "saml: metadata", "the identity provider's metadata cannot be read: %v", err)
	}
	h.mu.Lock()
	h.fetched[c.IdPMetadataURL] = fetchedMetadata{md: md, at: time.Now()}
	h.mu.Unlock()
	return md, nil
}

// replayCache keeps each accepted assertion's id in the service's
// OnceStore, so that it is accepted once across every instance.
type replayCache struct {
	ctx    context.Context
	ops    *accessctl.Service
	tenant backoffice.TenantID
}

func (c *replayCache) Consume(id string, until time.Time) error {
	err := c.ops.UseOnce(c.ctx, c.tenant, "saml:"+id, until)
	if errors.Is(err, backoffice.ErrConflict) {
		return csaml.ErrAssertionReplayed
	}
	return err
}

func (h *Handler) metadata(w http.ResponseWriter, r *http.Request) {
	sp, _, err := h.serviceProvider(r.Context(), backoffice.TenantID(r.PathValue("tenant")))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	b, err := xml.MarshalIndent(sp.Metadata(), "", "  ")
	if err != nil {
		http.Error(w, "the metadata could not be written", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
}

// secure reports whether the browser reaches the handler over https (or
// on the loopback interface, which browsers treat as secure), where the
// request cookie can be SameSite=None: the identity provider's POST to
// the ACS is cross-site.
func (h *Handler) secure(r *http.Request) bool {
	if r.TLS != nil || strings.HasPrefix(h.opts.BaseURL, "https://") {
		return true
	}
	host := r.Host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

func (h *Handler) cookiePath(tenant backoffice.TenantID) string {
	u, err := url.Parse(h.ACSURL(tenant))
	if err != nil {
		return "/"
	}
	return u.EscapedPath()
}

// login starts an SP-initiated sign-in: an AuthnRequest to the identity
// provider with the HTTP-Redirect binding, its id in a cookie for the
// ACS to check InResponseTo against.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	tenant := backoffice.TenantID(r.PathValue("tenant"))
	sp, _, err := h.serviceProvider(r.Context(), tenant)
	if err != nil {
		h.refuse(w, r, tenant, err)
		return
	}
	req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(csaml.HTTPRedirectBinding), csaml.HTTPRedirectBinding, csaml.HTTPPostBinding)
	if err != nil {
		h.refuse(w, r, tenant, &errRefused{"the identity provider has no redirect binding: " + err.Error()})
		return
	}
	to, err := req.Redirect("", sp)
	if err != nil {
		h.refuse(w, r, tenant, err)
		return
	}
	ck := &http.Cookie{Name: cookieName, Value: req.ID, Path: h.cookiePath(tenant), MaxAge: int(csaml.MaxIssueDelay.Seconds()) + 300,
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode}
	if ck.Secure {
		ck.SameSite = http.SameSiteNoneMode
	}
	http.SetCookie(w, ck)
	http.Redirect(w, r, to.String(), http.StatusFound)
}

// acs receives the identity provider's response.
func (h *Handler) acs(w http.ResponseWriter, r *http.Request) {
	tenant := backoffice.TenantID(r.PathValue("tenant"))
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	sp, _, err := h.serviceProvider(r.Context(), tenant)
	if err != nil {
		h.refuse(w, r, tenant, err)
		return
	}
	var ids []string
	if ck, err := r.Cookie(cookieName); err == nil && ck.Value != "" {
		ids = []string{ck.Value}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Path: h.cookiePath(tenant), MaxAge: -1, HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode})
	if err := r.ParseForm(); err != nil {
		h.refuse(w, r, tenant, &errRefused{"the form could not be read"})
		return
	}
	if r.PostForm.Get("SAMLResponse") == "" {
		h.refuse(w, r, tenant, &errRefused{"no SAMLResponse"})
		return
	}
	as, err := sp.ParseResponse(r, ids)
	if err != nil {
		var ire *csaml.InvalidResponseError
		reason := err.Error()
		if errors.As(err, &ire) && ire.PrivateErr != nil {
			reason = ire.PrivateErr.Error()
		}
		h.refuse(w, r, tenant, &errRefused{"the response was not accepted: " + reason})
		return
	}
	res, err := h.ops.ProvisionSSO(r.Context(), tenant, assertionOf(as))
	switch {
	case errors.Is(err, backoffice.ErrForbidden), errors.Is(err, backoffice.ErrFailedPrecondition), errors.Is(err, backoffice.ErrInvalid),
		errors.Is(err, backoffice.ErrUnauthenticated), errors.Is(err, backoffice.ErrConflict):
		h.refuse(w, r, tenant, &errRefused{"the operator could not be provisioned: " + err.Error()})
		return
	case err != nil:
		h.opts.Log.ErrorContext(r.Context(), "saml: provisioning failed", "tenant", tenant, "err", err)
		http.Error(w, "the sign-in could not be completed; try again later", http.StatusServiceUnavailable)
		return
	}
	h.opts.Done(w, r, res)
}

// refuse records why and answers the one refusal.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, tenant backoffice.TenantID, err error) {
	var rf *errRefused
	if !errors.As(err, &rf) {
		h.opts.Log.ErrorContext(r.Context(), "saml: sign-in failed", "tenant", tenant, "err", err)
		if errors.Is(err, backoffice.ErrUnavailable) {
			http.Error(w, "the identity provider cannot be reached; try again later", http.StatusServiceUnavailable)
			return
		}
		rf = &errRefused{err.Error()}
	}
	h.opts.Log.WarnContext(r.Context(), "saml: sign-in refused", "tenant", tenant, "reason", rf.reason)
	if err := h.ops.RefuseSSO(r.Context(), tenant, "saml: "+rf.reason); err != nil && !errors.Is(err, backoffice.ErrNotFound) {
		h.opts.Log.ErrorContext(r.Context(), "saml: the refusal could not be recorded", "tenant", tenant, "err", err)
	}
	h.opts.Refused(w, r)
}

// Attribute names each field is read from, by Name or FriendlyName,
// without case: LDAP/eduPerson OIDs and names, and Entra ID's and ADFS's
// claim URIs.
var (
	emailAttrs = []string{"mail", "email", "emailaddress", "urn:oid:0.9.2342.19200300.100.1.3",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"}
	givenAttrs  = []string{"givenname", "firstname", "urn:oid:2.5.4.42", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"}
	familyAttrs = []string{"sn", "surname", "lastname", "urn:oid:2.5.4.4", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"}
	groupAttrs  = []string{"groups", "memberof", "eduPersonAffiliation", "urn:oid:1.3.6.1.4.1.5923.1.1.1.1",
		"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"}
)

// assertionOf reads what the library needs of a checked assertion.
func assertionOf(as *csaml.Assertion) accessctl.Assertion {
	var out accessctl.Assertion
	if as.Subject != nil && as.Subject.NameID != nil {
		out.Subject = strings.TrimSpace(as.Subject.NameID.Value)
	}
	first := func(names []string) string {
		if v := values(as, names); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	out.Email, out.FirstName, out.LastName = first(emailAttrs), first(givenAttrs), first(familyAttrs)
	out.Groups = values(as, groupAttrs)
	if out.Email == "" && strings.Contains(out.Subject, "@") {
		out.Email = out.Subject
	}
	return out
}

func values(as *csaml.Assertion, names []string) []string {
	var out []string
	for _, st := range as.AttributeStatements {
		for _, a := range st.Attributes {
			for _, n := range names {
				if strings.EqualFold(a.Name, n) || strings.EqualFold(a.FriendlyName, n) {
					for _, v := range a.Values {
						if s := strings.TrimSpace(v.Value); s != "" {
							out = append(out, s)
						}
					}
					break
				}
			}
		}
	}
	return out
}
