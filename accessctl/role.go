package accessctl

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/backoffice-go/backoffice"
)

// RoleName identifies a role within a tenant, e.g. "administrator".
type RoleName string

// Role is a named set of permissions with a short abbreviation and a
// description. Preset roles ship with the library; a tenant may add
// custom roles through the RoleStore.
type Role struct {
	Tenant      backoffice.TenantID `json:"tenant"` // empty for preset roles
	Name        RoleName            `json:"name"`
	Abbrev      string              `json:"abbrev" audit:"abbrev"`
	Description string              `json:"description" audit:"description"`
	Permissions []Permission        `json:"permissions" audit:"permissions"`
	Version     int64               `json:"version"`
}

// presetTitles are the preset roles' names as the seeds write them.
var presetTitles = map[RoleName]string{
	RoleReadOnly: "Read-only", RoleBasicEditor: "Basic editor", RoleUserManagement: "User management",
	RoleUserBeneficiary: "User & beneficiary management", RoleTransferOnly: "Transfer management only",
	RoleAllRightsEditor: "All rights editor", RoleManager: "Manager", RoleAdministrator: "Administrator",
	RolePortalAdmin: "Admin", RolePortalViewer: "Viewer", RolePortalSupport: "Support",
}

// Title is the role's name as people read it: a preset role's as the
// seeds write it ("Read-only", "Basic editor"), a custom role's with its
// underscores as spaces and a capital ("night_shift" is "Night shift").
func (n RoleName) Title() string {
	if t, ok := presetTitles[n]; ok {
		return t
	}
	s := strings.ReplaceAll(string(n), "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Preset is a ready-made set of roles a tenant is created with. Admin
// names the role that the Administrator rules mean.
type Preset struct {
	Name  string
	Admin RoleName
	Roles []Role
}

// Names of the presets shipped with the library.
const (
	// PresetDashboard is the eight-role preset: Read-only, Basic editor, User
	// management, User & beneficiary management, Transfer management only,
	// All rights editor, Manager, Administrator.
	PresetDashboard = "dashboard"
	// PresetPortal is the three-role preset: Admin, Viewer, Support.
	PresetPortal = "portal"
)

// Role names of the eight-role preset.
const (
	RoleReadOnly        RoleName = "read_only"
	RoleBasicEditor     RoleName = "basic_editor"
	RoleUserManagement  RoleName = "user_management"
	RoleUserBeneficiary RoleName = "user_beneficiary_management"
	RoleTransferOnly    RoleName = "transfer_management"
	RoleAllRightsEditor RoleName = "all_rights_editor"
	RoleManager         RoleName = "manager"
	RoleAdministrator   RoleName = "administrator"
	RolePortalAdmin     RoleName = "admin"
	RolePortalViewer    RoleName = "viewer"
	RolePortalSupport   RoleName = "support"
)

// Presets returns the presets shipped with the library, freshly built, so
// that a caller may change its copy.
func Presets() []Preset { return []Preset{DashboardPreset(), PortalPreset()} }

// DashboardPreset returns the eight-role preset. Its matrix is documented in
// PERMISSIONS.md. Read-only roles read; editors edit; only Manager and
// Administrator manage operators; only Administrator configures the tenant,
// manages roles and bulk-creates cards.
func DashboardPreset() Preset {
	read := []Permission{
		PermViewSearchUsers, PermViewProfilesBoard, PermViewAllUsers, PermViewOnboardingUsers,
		PermViewAllCards, PermViewAllCardTransaction,
		PermEndUserRead, PermDeviceRead, PermBeneficiaryRead, PermTransferRead, PermCardRead,
	}
	basic := join(read, PermEndUserEdit, PermEndUserOrganizeProfile, PermEndUserForgotPassword, PermDeviceLock)
	users := join(basic, PermViewCreateUser, PermViewDocsPrereview, PermEndUserCreate, PermEndUserDeactivate,
		PermEndUserKYCRequest, PermDeviceUnlock, PermDeviceResetPIN)
	beneficiaries := join(users, PermBeneficiaryManage)
	transfers := join(read, PermTransferCreate)
	allRights := join(beneficiaries, PermTransferCreate, PermDeviceDelete, PermEndUserKYCDecide)
	manager := join(allRights, PermViewOperators, PermOperatorRead, PermOperatorCreate, PermOperatorEdit,
		PermOperatorDeactivate, PermOperatorDelete, PermOperatorBlock, PermOperatorResetMFA,
		PermOperatorPasswordReset, PermOperatorHistory, PermOperatorSessions, PermAuditRead)
	admin := join(manager, PermViewBulkCards, PermCardBulkCreate, PermTenantConfigure, PermRoleManage)
	return Preset{
		Name:  PresetDashboard,
		Admin: RoleAdministrator,
		Roles: []Role{
			{Name: RoleReadOnly, Abbrev: "RO", Description: "Restricted role with first-level viewing rights.", Permissions: read},
			{Name: RoleBasicEditor, Abbrev: "BE", Description: "Restricted role for first-level edition rights.", Permissions: basic},
			{Name: RoleUserManagement, Abbrev: "UM", Description: "For operators to edit information and create users.", Permissions: users},
			{Name: RoleUserBeneficiary, Abbrev: "BM", Description: "For operators to create beneficiaries and manage users.", Permissions: beneficiaries},
			{Name: RoleTransferOnly, Abbrev: "TM", Description: "For operators to create transfers only.", Permissions: transfers},
			{Name: RoleAllRightsEditor, Abbrev: "AR", Description: "For operators with advanced editing rights.", Permissions: allRights},
			{Name: RoleManager, Abbrev: "M", Description: "Dashboard managers, with exhaustive rights and operator management rights.", Permissions: manager},
			{Name: RoleAdministrator, Abbrev: "A", Description: "Administrators with all the rights including configuration and bulk card creation.", Permissions: admin},
		},
	}
}

// PortalPreset returns the three-role preset: Admin may do everything,
// including managing operators; Viewer reads every page but the operator
// pages; Support reads like Viewer and handles first-line support (send a
// forgot-password email, request a KYC review, lock a device), but manages
// no operator and acts on no transfer.
func PortalPreset() Preset {
	viewer := []Permission{
		PermViewSearchUsers, PermViewProfilesBoard, PermViewAllUsers, PermViewOnboardingUsers,
		PermViewDocsPrereview, PermViewAllCards, PermViewAllCardTransaction,
		PermEndUserRead, PermDeviceRead, PermBeneficiaryRead, PermTransferRead, PermCardRead,
	}
	support := join(viewer, PermEndUserForgotPassword, PermEndUserKYCRequest, PermDeviceLock)
	var admin []Permission
	for _, p := range builtinPermissions() {
		admin = append(admin, p.Name)
	}
	return Preset{
		Name:  PresetPortal,
		Admin: RolePortalAdmin,
		Roles: []Role{
			{Name: RolePortalAdmin, Abbrev: "Admin", Description: "Invites and manages operators, resets their MFA, and may do everything else.", Permissions: admin},
			{Name: RolePortalViewer, Abbrev: "Viewer", Description: "Views every page except operator management; read-only.", Permissions: viewer},
			{Name: RolePortalSupport, Abbrev: "Support", Description: "Views pages and handles first-line support; no operator management, no transfers.", Permissions: support},
		},
	}
}

func join(base []Permission, more ...Permission) []Permission {
	return append(slices.Clip(base), more...)
}

// compiledRole is a role with its permission set resolved against a catalog.
type compiledRole struct {
	Role
	set permSet
}

// roleSet is the compiled roles of one tenant: its preset's and its custom ones.
type roleSet struct {
	admin  RoleName
	byName map[RoleName]*compiledRole
	order  []RoleName
	// adminOnly holds the permissions only the preset's Administrator role
	// grants among the preset's roles: granting any of them, however, is
	// granting Administrator (F5).
	adminOnly permSet
}

// adminLevel reports whether any of the roles grants a permission only
// Administrators hold.
func (rs *roleSet) adminLevel(roles ...RoleName) bool {
	for _, r := range roles {
		if cr, ok := rs.byName[r]; ok && cr.set.intersects(&rs.adminOnly) {
			return true
		}
	}
	return false
}

// adminGrant returns whether o holds Administrator-level permissions at
// now through a role, and until when: the zero time when for good.
func (rs *roleSet) adminGrant(o *Operator, now time.Time) (bool, time.Time) {
	held, until := false, time.Time{}
	for _, r := range o.RolesAt(now) {
		if !rs.adminLevel(r) {
			continue
		}
		end, bound := o.RoleUntil[r]
		if !bound {
			return true, time.Time{}
		}
		if !held || end.After(until) {
			until = end
		}
		held = true
	}
	return held, until
}

// extendsAdmin reports whether after holds Administrator-level
// permissions where before did not, or for longer.
func (rs *roleSet) extendsAdmin(before, after *Operator, now time.Time) bool {
	had, was := rs.adminGrant(before, now)
	has, is := rs.adminGrant(after, now)
	switch {
	case !has:
		return false
	case !had:
		return true
	case was.IsZero():
		return false
	default:
		return is.IsZero() || is.After(was)
	}
}

func compileRoles(cat *Catalog, p Preset, custom []Role) (*roleSet, error) {
	rs := &roleSet{admin: p.Admin, byName: make(map[RoleName]*compiledRole, len(p.Roles)+len(custom))}
	for _, list := range [][]Role{p.Roles, custom} {
		for _, r := range list {
			set, err := cat.compile(r.Permissions)
			if err != nil {
				return nil, fmt.Errorf("accessctl: role %s: %w", r.Name, err)
			}
			if _, dup := rs.byName[r.Name]; dup {
				return nil, backoffice.Errorf(backoffice.ErrConflict, "accessctl: compile roles", "role %q defined twice", r.Name)
			}
			rs.byName[r.Name] = &compiledRole{Role: r, set: set}
			rs.order = append(rs.order, r.Name)
		}
	}
	admin, ok := rs.byName[p.Admin]
	if !ok {
		return nil, backoffice.Errorf(backoffice.ErrInvalid, "accessctl: compile roles", "preset %q has no role %q for its Administrator", p.Name, p.Admin)
	}
	var others permSet
	for _, r := range p.Roles {
		if r.Name != p.Admin {
			others.union(&rs.byName[r.Name].set)
		}
	}
	rs.adminOnly = admin.set.minus(&others)
	return rs, nil
}

// Markdown renders the preset's permission matrices (views × roles, then
// actions × roles) as Markdown tables, the form PERMISSIONS.md documents.
func (p Preset) Markdown(cat *Catalog) (string, error) {
	rs, err := compileRoles(cat, p, nil)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Preset %q\n\nAdministrator role: `%s`.\n\n", p.Name, p.Admin)
	b.WriteString("| Role | Ab. | Description |\n|---|---|---|\n")
	for _, r := range p.Roles {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.Name, r.Abbrev, r.Description)
	}
	for _, kind := range []string{"view", "action"} {
		title := map[string]string{"view": "Views", "action": "Actions"}[kind]
		fmt.Fprintf(&b, "\n### %s\n\n| Permission | Description |", title)
		for _, r := range p.Roles {
			fmt.Fprintf(&b, " %s |", r.Abbrev)
		}
		b.WriteString("\n|---|---|")
		for range p.Roles {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		for i, info := range cat.perms {
			if info.Kind != kind {
				continue
			}
			fmt.Fprintf(&b, "| `%s` | %s |", info.Name, info.Description)
			for _, r := range p.Roles {
				mark := " "
				if rs.byName[r.Name].set.has(uint16(i)) {
					mark = "x"
				}
				fmt.Fprintf(&b, " %s |", mark)
			}
			b.WriteString("\n")
		}
	}
	return b.String(), nil
}
