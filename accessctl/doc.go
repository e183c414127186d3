// Package accessctl is the operator side of the back office: the staff who
// log into the dashboard, their roles and permissions, invitations, MFA,
// lockout, sessions, history and single sign-on. Operators are not end
// users; those live in package enduser.
//
// # Actors and authorization
//
// Every operation takes a context carrying the acting operator, the Actor.
// A host authenticates each request's session token with
// Service.Authenticate and puts the actor in the context with NewContext;
// background work uses SystemActor. Service calls without an actor fail
// with ErrUnauthenticated, and without the permission with ErrForbidden.
//
// A Permission is a name such as "enduser.deactivate". The Catalog holds the
// built-in permissions and any the host registers, and gives each a bit; a
// Role is a named set of permissions, and an actor carries the union of its
// roles' bits, so Actor.Authorize is a map lookup and a bit test with no
// allocation (about 7 ns). Actor.Explain says which role grants a
// permission or that none does.
//
// # Presets
//
// A tenant starts from a preset. PresetDashboard has eight roles (Read-only,
// Basic editor, User management, User & beneficiary management, Transfer
// management only, All rights editor, Manager, Administrator); PresetPortal
// has three (Admin, Viewer, Support). Their permission matrices, views ×
// roles and actions × roles, are in PERMISSIONS.md beside this file, which a
// test keeps identical to the code. A tenant may add custom roles
// (Service.CreateRole).
//
// # Granting
//
// Only an Administrator acts on an Administrator or grants that role. Any
// other role may be granted by an actor who holds it, or who holds every
// permission it grants: a Manager can make someone Read-only without being
// Read-only itself, but nobody can hand out a permission they lack. Account
// access works the same way: an actor limited to some accounts can
// give only those. Duplicating an operator copies only what the actor may
// grant.
//
// # Login, MFA and lockout
//
// Login checks the password (argon2id at or above the OWASP minimum, with
// the parameters in the hash so they can be raised and rehashed at the next
// login; at most about one hash per CPU at a time) and returns a challenge;
// CompleteLogin checks the TOTP code and opens a session. An operator with
// no MFA gets an enrolment (secret and otpauth URI) in the same step. Three
// failures in a row (wrong password or wrong code) block the operator until
// an operator manager unblocks it; a right password does not end the
// run, only a complete login does, so a password cannot be used to clear
// failed codes.
//
// The lockout holds under parallel attack: every password check and
// every code check first reserves an attempt in the AttemptStore and is
// refused unchecked when the run's failures and reservations in flight
// reach Config.MaxFailures; then it settles the reservation. However many
// requests arrive at once, on however many instances, at most MaxFailures
// wrong guesses are checked per run, and the one failure that fills the
// run blocks the operator. Every refusal, whatever its reason (a wrong,
// unknown or disabled login, a wrong or replayed code, no attempt left, a
// store failure or race inside the login), is the one value
// ErrLoginRefused, and takes about as long: a refusal that needs no hash
// waits as long as one (password.Hasher.Delay) without taking a hashing
// slot, so a flood of them leaves the slots to logins that may succeed.
// Store failures so hidden go to Config.ReportError.
//
// The last active Administrator of a tenant can never be blocked,
// deactivated, deleted or demoted, not even by failed logins. Instead
// of blocking it, three failures refuse its logins for
// Config.LastAdminCooldown (15 minutes by default), so guessing its password
// stays slow and the tenant is never left without an Administrator.
//
// # Sessions
//
// A session token is 32 random bytes given to the client once; stores keep
// only its SHA-256. Each operator has a session epoch that moves on every
// change that must end its sessions (deactivation, block, password change,
// role or account change, MFA reset); a session of an older epoch is
// refused even if deleting it failed. Stores also delete the sessions, so
// listings stay honest.
//
// # Policy (PCI DSS v4.0 requirement 8)
//
// A Policy is a tenant's security policy; Config.Policy sets it for every
// tenant, TenantSettings.Policy for one. PCIDSS4() is the preset a
// regulated host switches on in one line, each value overridable:
//
//   - IdleTimeout ends a session idle for 15 minutes (8.2.8), whichever
//     instance served it: a request records the session's use at most once
//     a minute (TouchSession); SessionLifetime ends it after 8 hours anyway.
//   - LockoutDuration: an operator blocked by its failures stays blocked
//     until an operator manager unblocks it; the last Administrator is
//     refused for at least 30 minutes (8.3.4).
//   - MinPasswordLength 12 (8.3.6); PasswordHistory refuses the last 4
//     passwords, found by verifying the new one against the hashes kept in
//     Operator.PasswordHistory, never a password (8.3.7).
//   - MFA required: an operator without MFA enrols before it gets a
//     session (8.4.2). Where a tenant makes MFA optional, MaxPasswordAge
//     stops an operator without MFA whose password is older (8.3.9,
//     ErrPasswordExpired).
//   - DormantAfter blocks, at its next login, an operator with no login in
//     90 days, and DormantOperators lists them for managers (8.2.6). A
//     complete login records its time and source (WithClientAddr) on the
//     operator.
//
// # Four-eyes approval, time-bound access, reviews
//
// Policy.FourEyes lists the actions a second operator must approve
// (DefaultFourEyes: granting Administrator, unlocking an SCA device,
// resetting its PIN, deactivating an end user, changing the policy). A
// held call returns ErrApprovalRequired; RequestApproval stores the request
// with its reason, pending until Policy.ApprovalTTL; Approve, by another
// operator holding the action's permission (never the requester, from any
// session), runs the action once, as the requester re-read at that moment
// and through the same service method, so every rule is checked again;
// Reject needs a reason. Packages enduser and scadevice register their
// held actions (HandleApproved) when given this service as
// Config.Approvals, and pass Gate a Hold, with the exact effect the call
// would have, after they computed it and before they change anything.
//
// One insider cannot satisfy four-eyes alone (F4-F7):
//   - RequestApproval runs the action as the requester up to its gate,
//     which records its effect (every value it will change) and stops it
//     before any write; the request stores it (Approval.Effect) and its
//     EffectDigest. Approve names the digest of the effect the approver was
//     shown, and the action runs only if it would still change exactly
//     that.
//   - An approver is none of: the requester; an operator the requester
//     created, invited, duplicated, reactivated, unblocked, edited,
//     re-passworded or granted a role's new permissions, directly,
//     through its own requests or through an operator it so empowered
//     (Operator.GrantedBy); an operator whose keys the requester may hold,
//     or that may hold the requester's, or whose keys and the requester's
//     one third operator may hold (Operator.ControlledBy). It has existed
//     for Policy.ApproverMinAge (PCIDSS4: 7 days).
//   - Granting any permission only the preset's Administrator role holds
//     is held as granting Administrator, however it arrives: a role, an
//     end date moved or removed, a custom role's edit reaching its
//     holders, an SSO group mapping, a duplicate; such a request is
//     approved by an Administrator only (Approval.AdminLevel).
//   - A change of the policy that weakens any of its values is held
//     whenever the policy holds anything.
//
// OperatorUpdate.RoleUntil and AccessUntil grant a role or the account
// access until a time: they stop counting at that time on the next request
// (the session carries them), with no job running; ExpireGrants records
// the end in the history. RequestElevation is break-glass: a role for at
// most Policy.MaxElevation, with a reason, through four-eyes approval.
//
// StartReview opens an access review campaign (7.2.4) listing every
// operator with its roles, account access, last login and dormant flag;
// DecideReview certifies or revokes (deactivates) each line, never the
// reviewer's own; WriteReviewCSV exports it; ReviewStatus reports overdue
// campaigns and whether a review is due (Policy.ReviewInterval).
//
// # Tamper-evident history (10.3.2, 10.3.4)
//
// Every audit entry carries its tenant's next sequence number and a hash
// chained to the entry before it (backoffice.ChainLink), written by the
// store in the same atomic write as the entry; writers on any number of
// instances never fork the chain. VerifyAudit checks the chain from the
// checkpoint of the last intact walk on this service to its head, and
// names the first entry altered, removed or inserted; VerifyAuditFull, at
// most every FullVerifyEvery, walks it from its first entry.
//
// # Errors
//
// Every error is a *backoffice.Error whose Kind is one of the kinds of
// package backoffice (ErrNotFound, ErrInvalid, ErrConflict, ErrForbidden,
// ErrUnauthenticated, ErrFailedPrecondition, ErrUnavailable), so errors.Is
// works whatever package returned it; ErrInvalid lists every bad field at
// once, ErrConflict names a duplicated field. Messages say what to do and
// never contain a secret, SQL or driver text. Secret values (password
// hashes, TOTP seeds, tokens) have type backoffice.Secret, which prints as
// "[redacted]" in fmt, JSON and slog. A call returns a value or an error,
// never both: what fails after a change committed (a notice not delivered,
// cleanup) goes to Config.ReportError instead.
//
// # Storage
//
// store.go lists every store interface. Stores persist and make atomic
// what only they can: a change with its audit entry, versions,
// unique usernames and emails, the Guard of a write (the last
// Administrator, and the acting operator still active at its session
// epoch, so an actor built before its own deactivation changes nothing),
// single-use tokens and login attempt reservations. Package storage/memory
// implements them all, storage/postgres and storage/redis the ones they
// hold, and storage/storetest is the conformance suite every adapter
// passes. Sessions and tokens reach a store as (tenant, digest): the
// service reads the tenant from the token and keeps only its SHA-256.
package accessctl
