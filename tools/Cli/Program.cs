return Molly.Cli.MollyCli.Run(args, Console.Out, Console.Error);
