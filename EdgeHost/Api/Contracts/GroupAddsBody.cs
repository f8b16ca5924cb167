using Orleans.Im.Accounts;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>
/// Who may put the user into a group without asking: <c>everyone</c> (the default) or <c>contacts</c> (friends). Required
/// in a change: a body without it (a misspelt name) is refused, not read as <c>everyone</c>.
/// </summary>
public sealed record GroupAddsBody(GroupAddPolicy? GroupAdds);
