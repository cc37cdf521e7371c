// The watcher owns the deposit item and its statuses; settlement moves deposits between them.
global using DepositStatus = Molly.Deposits.DepositStatus;
global using DepositKeys = Molly.Deposits.DepositKeys;
