global using DepositStatus = Molly.Deposits.DepositStatus;
