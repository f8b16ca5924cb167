namespace Orleans.Im.Robots.SignIn;

/// <summary>Why a robot could or could not sign in.</summary>
internal enum SignInOutcome
{
    SignedIn,
    NoSuchAccount,
    NotARobot,
    Disabled,
    WrongSecret,
}
