using System.Reflection;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>Finds the checkout and the build output of the hosts that tests start as real processes.</summary>
public static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The configuration this test assembly was built in; the hosts were built in the same one.</summary>
    public static string Configuration { get; } =
        typeof(RepositoryPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>The main assembly of a host project (<c>Silo</c>, <c>EdgeHost</c>), as built beside the tests.</summary>
    public static string HostAssembly(string project) =>
        Path.Combine(Root, project, "bin", Configuration, "net10.0", project + ".dll");

    /// <summary>The main assembly of a program under <paramref name="projectPath"/> (relative to the checkout) named <paramref name="assemblyName"/>.</summary>
    public static string ProgramAssembly(string projectPath, string assemblyName) =>
        Path.Combine(Root, projectPath, "bin", Configuration, "net10.0", assemblyName + ".dll");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orleans.Im.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Orleans.Im.sln not found above " + AppContext.BaseDirectory);
    }
}
