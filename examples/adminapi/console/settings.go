package console

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// settingsData is the tenant's settings screen: its name, single sign-on
// and the mapping of the identity provider's groups to roles, one group a
// line ("group: role, role").
type settingsData struct {
	Tenant  *accessctl.Tenant
	Name    string
	SSO     bool
	Mapping string
	Roles   []accessctl.Role
	Fields  map[string]string
	// The identity provider: SAML's settings, the service provider's
	// metadata URL and the SCIM base URL to give it, the SCIM tokens, and
	// a token just issued, shown this once.
	SAML         accessctl.SAMLConfig
	LinkByEmail  bool
	SAMLMetadata string
	SCIMBaseURL  string
	Tokens       []accessctl.SCIMToken
	Issued       string
	IssuedNote   string
}

func (c *Console) settingsPage(w http.ResponseWriter, r *http.Request) {
	d, err := c.settings(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "settings", "Settings", d, "")
}

func (c *Console) settings(r *http.Request) (*settingsData, error) {
	t, err := c.cfg.Ops.Tenant(r.Context())
	if err != nil {
		return nil, err
	}
	roles, err := c.cfg.Ops.Roles(r.Context())
	if err != nil {
		return nil, err
	}
	return &settingsData{Tenant: t, Roles: roles, Fields: map[string]string{}, Name: t.Name, SSO: t.SSO.Enabled,
		Mapping: formatMapping(t.SSO.GroupRoles), SAML: t.SSO.SAML, LinkByEmail: t.SSO.LinkByEmail,
		SAMLMetadata: c.cfg.SAMLMetadata, SCIMBaseURL: c.cfg.SCIMBaseURL, Tokens: t.SCIMTokens}, nil
}

func (c *Console) saveSettings(w http.ResponseWriter, r *http.Request) {
	d, err := c.settings(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d.Name, d.SSO, d.Mapping = strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("sso") == "on", r.PostFormValue("mapping")
	d.SAML = accessctl.SAMLConfig{IdPMetadata: accessctl.Document(strings.TrimSpace(r.PostFormValue("saml_metadata"))),
		IdPMetadataURL: strings.TrimSpace(r.PostFormValue("saml_metadata_url")), AllowIdPInitiated: r.PostFormValue("saml_idp_initiated") == "on"}
	d.LinkByEmail = r.PostFormValue("link_by_email") == "on"
	var version int64
	if _, err := fmt.Sscan(r.PostFormValue("version"), &version); err != nil {
		d.Fields["version"] = "reload the page"
	}
	mapping, bad := parseMapping(d.Mapping)
	if bad != "" {
		d.Fields["group_roles"] = bad
	}
	if len(d.Fields) == 0 {
		_, err = c.cfg.Ops.ConfigureTenant(r.Context(), accessctl.TenantSettings{Version: version, Name: &d.Name,
			SSO: &accessctl.SSOConfig{Enabled: d.SSO, GroupRoles: mapping, SAML: d.SAML, LinkByEmail: d.LinkByEmail}})
		if err == nil {
			c.redirect(w, r, "/settings")
			return
		}
		msg, ok := fieldErrors(err, d.Fields)
		if !ok {
			c.fail(w, r, err)
			return
		}
		c.render(w, r, http.StatusUnprocessableEntity, "settings", "Settings", d, msg)
		return
	}
	c.render(w, r, http.StatusUnprocessableEntity, "settings", "Settings", d, "Check the form.")
}

// parseMapping reads "group: role, role" lines; it says what is wrong
// with the first line it cannot read.
func parseMapping(text string) (map[string][]accessctl.RoleName, string) {
	out := map[string][]accessctl.RoleName{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		group, roles, ok := strings.Cut(line, ":")
		group = strings.TrimSpace(group)
		if !ok || group == "" {
			return nil, fmt.Sprintf("line %d: write it as group: role, role", i+1)
		}
		out[group] = nil // a group the identity provider made known may map to no role yet
		for _, role := range strings.Split(roles, ",") {
			if role = strings.TrimSpace(role); role != "" {
				out[group] = append(out[group], accessctl.RoleName(role))
			}
		}
	}
	return out, ""
}

func formatMapping(m map[string][]accessctl.RoleName) string {
	groups := make([]string, 0, len(m))
	for g := range m {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	var b strings.Builder
	for _, g := range groups {
		roles := make([]string, len(m[g]))
		for i, r := range m[g] {
			roles[i] = string(r)
		}
		fmt.Fprintf(&b, "%s: %s\n", g, strings.Join(roles, ", "))
	}
	return b.String()
}

// issueToken issues a SCIM token and shows it this once.
func (c *Console) issueToken(w http.ResponseWriter, r *http.Request) {
	secret, tok, err := c.cfg.Ops.IssueSCIMToken(r.Context(), r.PostFormValue("token_name"), 0)
	c.tokenShown(w, r, secret, tok, err)
}

// tokenAction rotates (with an hour of overlap), activates or revokes a
// SCIM token.
func (c *Console) tokenAction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var err error
	switch r.PathValue("action") {
	case "rotate":
		secret, tok, err := c.cfg.Ops.RotateSCIMToken(r.Context(), id, time.Hour)
		c.tokenShown(w, r, secret, tok, err)
		return
	case "activate":
		err = c.cfg.Ops.ActivateSCIMToken(r.Context(), id)
	case "revoke":
		err = c.cfg.Ops.RevokeSCIMToken(r.Context(), id)
	default:
		c.fail(w, r, backoffice.NewError(backoffice.ErrNotFound, "console: token", "no such action"))
		return
	}
	if c.askApproval(w, r, err, accessctl.ApproveGrantAdministrator, accessctl.TargetTenant, string(actorOf(r).Tenant()),
		map[string]string{"scim_token": id}, "/settings") {
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.redirect(w, r, "/settings")
}

func (c *Console) tokenShown(w http.ResponseWriter, r *http.Request, secret backoffice.Secret, tok *accessctl.SCIMToken, err error) {
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d, err := c.settings(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d.Issued = string(secret)
	if tok.Pending {
		d.IssuedNote = "It works once a second Administrator approves it: ask for approval with Activate below."
	}
	c.render(w, r, http.StatusOK, "settings", "Settings", d, "")
}
