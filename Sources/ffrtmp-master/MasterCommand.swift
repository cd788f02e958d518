import ArgumentParser

/// `ffrtmp-master [serve] …` runs the server (the default, so existing unit files and scripts
/// keep working); `ffrtmp-master nodes add|list|revoke` manages the node keys in the store.
@main
struct MasterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ffrtmp-master",
        abstract: "The ffrtmp control plane: job API and job store.",
        subcommands: [ServeCommand.self, NodesCommand.self],
        defaultSubcommand: ServeCommand.self)
}
