package accessctl

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/internal/check"
)

// Actor is the party on whose behalf an operation runs. An operator
// actor is built by Service.Authenticate from a live session, with its
// roles compiled into one permission bitset, so authorization needs no I/O.
// Actors are immutable and safe to share between goroutines.
type Actor struct {
	tenant      backoffice.TenantID
	id          string
	epoch       int64 // the operator's session epoch when the actor was built
	name        string
	kind        backoffice.ActorKind
	roles       []RoleName
	grants      []*compiledRole
	set         permSet
	cat         *Catalog
	admin       bool
	allAccounts bool
	accounts    []AccountID
	// grantors are, for the identity provider's actor, the operators that
	// issued and approved its SCIM token: what it grants, they grant (F4).
	grantors []OperatorID
	// loginAt is when the actor's session opened: its login.
	loginAt time.Time
}

// SystemActor returns an actor for the host's own background work in one
// tenant. It holds every permission and every account; its entries in the
// audit log carry the given name with kind "system".
func SystemActor(tenant backoffice.TenantID, name string) *Actor {
	return &Actor{tenant: tenant, id: "system:" + name, name: name, kind: backoffice.ActorSystem, admin: true, allAccounts: true}
}

// EndUserActor returns the actor for an end user of the tenant acting on
// its own records. It holds no permission of the catalog.
func EndUserActor(tenant backoffice.TenantID, endUserID string) *Actor {
	return &Actor{tenant: tenant, id: endUserID, name: endUserID, kind: backoffice.ActorEndUser}
}

// Tenant returns the actor's tenant.
func (a *Actor) Tenant() backoffice.TenantID { return a.tenant }

// ID returns the operator id, or "system:<name>" for a system actor.
func (a *Actor) ID() string { return a.id }

// Name returns the operator's username (or email) or the system actor's name.
func (a *Actor) Name() string { return a.name }

// Kind says whether the actor is an operator or the system.
func (a *Actor) Kind() backoffice.ActorKind { return a.kind }

// Roles returns the actor's role names.
func (a *Actor) Roles() []RoleName { return slices.Clone(a.roles) }

// IsAdministrator reports whether the actor holds its tenant's
// Administrator role. The system actor counts as one.
func (a *Actor) IsAdministrator() bool { return a.admin }

// Ref returns how the actor is recorded in audit entries.
func (a *Actor) Ref() backoffice.ActorRef {
	return backoffice.ActorRef{Kind: a.kind, ID: a.id, Name: a.name}
}

// String describes the actor without any secret.
func (a *Actor) String() string {
	return fmt.Sprintf("%s %s (%s) in %s", a.kind, a.id, a.name, a.tenant)
}

// Can reports whether the actor holds permission p. It allocates nothing.
func (a *Actor) Can(p Permission) bool {
	if a.kind != backoffice.ActorOperator {
		return a.kind == backoffice.ActorSystem
	}
	i, ok := a.cat.index[p]
	return ok && a.set.has(i)
}

// Permissions yields the catalog's permissions an operator holds now, in
// the catalog's order, without a lookup by name: what a "my access" page
// lists. Other actors yield none: their access is not by permission (the
// system actor may do anything, an end user or an identity provider only
// its own calls).
func (a *Actor) Permissions() iter.Seq[Permission] {
	return func(yield func(Permission) bool) {
		if a == nil || a.kind != backoffice.ActorOperator || a.cat == nil {
			return
		}
		for i, p := range a.cat.perms {
			if a.set.has(uint16(i)) && !yield(p.Name) {
				return
			}
		}
	}
}

// CanOnAccount reports whether the actor holds p and may act on the
// account.
func (a *Actor) CanOnAccount(p Permission, account AccountID) bool {
	return a.Can(p) && a.hasAccount(account)
}

func (a *Actor) hasAccount(account AccountID) bool {
	return a.allAccounts || slices.Contains(a.accounts, account)
}

// errNoActor is the refusal of a missing actor.
var errNoActor error = backoffice.NewError(backoffice.ErrUnauthenticated, "accessctl: authorize", "log in first")

// Authorize returns nil if the actor holds p, or an ErrForbidden *Error
// naming the missing permission. Neither path allocates: each refusal of
// a catalog permission is built once, with the catalog, and shared, so
// callers must not change it.
func (a *Actor) Authorize(p Permission) error {
	if a == nil {
		return errNoActor
	}
	if a.kind != backoffice.ActorOperator {
		if a.kind == backoffice.ActorSystem {
			return nil
		}
		return deniedError(p)
	}
	i, ok := a.cat.index[p] // one lookup serves both answers
	switch {
	case ok && a.set.has(i):
		return nil
	case ok:
		return a.cat.denied[i]
	}
	return deniedError(p) // a permission outside the catalog: a host's bug
}

// AuthorizeAccount is Authorize for an action on one account.
func (a *Actor) AuthorizeAccount(p Permission, account AccountID) error {
	if err := a.Authorize(p); err != nil {
		return err
	}
	if !a.hasAccount(account) {
		return backoffice.Errorf(backoffice.ErrForbidden, "accessctl: authorize", "no access to account %s; ask an operator manager for access", account)
	}
	return nil
}

// Decision explains an authorization answer.
type Decision struct {
	Permission Permission `json:"permission"`
	Allowed    bool       `json:"allowed"`
	// GrantedBy lists the actor's roles that grant the permission.
	GrantedBy []RoleName `json:"granted_by"`
	// Reason says in words why the answer is what it is.
	Reason string `json:"reason"`
}

// Explain answers whether the actor holds p and why.
func (a *Actor) Explain(p Permission) Decision {
	d := Decision{Permission: p}
	switch {
	case a == nil:
		d.Reason = "no actor: not logged in"
	case a.kind == backoffice.ActorSystem:
		d.Allowed, d.Reason = true, "system actors hold every permission"
	case a.kind == backoffice.ActorEndUser:
		d.Reason = "end users hold no operator permission"
	case !a.cat.Has(p):
		d.Reason = fmt.Sprintf("%s is not in the permission catalog", p)
	default:
		i := a.cat.index[p]
		for _, r := range a.grants {
			if r.set.has(i) {
				d.GrantedBy = append(d.GrantedBy, r.Name)
			}
		}
		d.Allowed = len(d.GrantedBy) > 0
		if d.Allowed {
			d.Reason = fmt.Sprintf("granted by role %s", d.GrantedBy[0])
		} else {
			d.Reason = fmt.Sprintf("none of the roles %v grants %s", a.roles, p)
		}
	}
	return d
}

// holdsRole reports whether the actor holds the role itself.
func (a *Actor) holdsRole(r RoleName) bool {
	return a.kind == backoffice.ActorSystem || slices.Contains(a.roles, r)
}

type actorKey struct{}

type clientAddrKey struct{}

// WithClientAddr returns a copy of ctx carrying the address the request
// came from, which a login records as its source (PCI DSS v4.0 10.2).
// The host gives what it trusts: the peer address, or a proxy's header.
// An address that is not 1 to 100 printable characters is recorded as
// "invalid", never as given.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	if addr != "" && (len(addr) > 100 || check.Text(addr, 100) != "") {
		addr = "invalid"
	}
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddr returns the address WithClientAddr put in ctx, or "".
func ClientAddr(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey{}).(string)
	return a
}

// NewContext returns a copy of ctx carrying the actor.
func NewContext(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor carried by ctx.
func ActorFrom(ctx context.Context) (*Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(*Actor)
	return a, ok && a != nil
}

// Require returns the actor of ctx if it holds p: ErrUnauthenticated when
// ctx has no actor, ErrForbidden when the permission is missing. Every
// service operation of this module starts with it.
func Require(ctx context.Context, p Permission) (*Actor, error) {
	a, ok := ActorFrom(ctx)
	if !ok {
		return nil, backoffice.NewError(backoffice.ErrUnauthenticated, "accessctl: authorize", "no actor in the context; authenticate the request first")
	}
	return a, a.Authorize(p)
}

// sessionActor builds the actor of a session from what the session carries
// of its operator, with the tenant's compiled roles.
func sessionActor(cat *Catalog, rs *roleSet, sess *Session) *Actor {
	a := &Actor{
		tenant: sess.Tenant, id: string(sess.Operator), epoch: sess.Epoch, name: sess.Name, kind: backoffice.ActorOperator, loginAt: sess.CreatedAt,
		roles: slices.Clone(sess.Roles), cat: cat, allAccounts: sess.AllAccounts, accounts: slices.Clone(sess.Accounts),
	}
	for _, name := range sess.Roles {
		r, ok := rs.byName[name]
		if !ok {
			continue // a role deleted since; it grants nothing
		}
		a.grants = append(a.grants, r)
		a.set.union(&r.set)
		if name == rs.admin {
			a.admin = true
		}
	}
	return a
}
