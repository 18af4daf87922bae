import type { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import type { Subnet } from "@cdktf/provider-aws/lib/subnet";
import type { Vpc } from "@cdktf/provider-aws/lib/vpc";
import { VpcEndpoint } from "@cdktf/provider-aws/lib/vpc-endpoint";
import { Construct } from "constructs";

export interface LambdaEndpointProps {
  readonly prefix: string;
  readonly region: string;
  readonly vpc: Vpc;
  readonly subnets: ReadonlyArray<Subnet>;
  /** The interface endpoints' group, which the functions already reach on 443. */
  readonly securityGroup: SecurityGroup;
}

/**
 * The Lambda API inside the VPC (there is no NAT): `reproject` pauses and resumes the
 * projection's event source mapping through it.
 */
export class LambdaEndpoint extends Construct {
  readonly endpoint: VpcEndpoint;

  constructor(scope: Construct, id: string, props: LambdaEndpointProps) {
    super(scope, id);
    this.endpoint = new VpcEndpoint(this, "endpoint", {
      vpcId: props.vpc.id,
      serviceName: `com.amazonaws.${props.region}.lambda`,
      vpcEndpointType: "Interface",
      privateDnsEnabled: true,
      subnetIds: props.subnets.map((subnet) => subnet.id),
      securityGroupIds: [props.securityGroup.id],
      tags: { Name: `${props.prefix}-lambda` },
    });
  }
}
