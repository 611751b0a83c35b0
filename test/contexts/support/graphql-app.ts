import type { INestApplication, LoggerService } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import {
  Args,
  Field,
  GraphQLModule,
  InputType,
  Mutation,
  ObjectType,
  Query,
  Resolver,
} from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import {
  WxOpenData,
  WxOpenDataModule,
  WxSession,
  WxUserInfo,
  WxVerified,
  type WxOpenDataModuleOptions,
  type WxSessionInfo,
} from '../../../lib/index.js';
import { APP_ID } from '../../support/payloads.js';

export type GraphQLDriverName = 'apollo' | 'mercurius';

/** The envelope as an app declares it: every field optional, so a missing one reaches the guard. */
@InputType()
export class EnvelopeInput {
  @Field(() => String, { nullable: true }) rawData?: string;
  @Field(() => String, { nullable: true }) signature?: string;
  @Field(() => String, { nullable: true }) encryptedData?: string;
  @Field(() => String, { nullable: true }) iv?: string;
}

function literal(node: ValueNode): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.LIST:
      return node.values.map(literal);
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((field) => [field.name.value, literal(field.value)]));
    default:
      return null;
  }
}

/** Any JSON value: lets a test hand the guard what a typed input never would (a string, extras). */
export const AnyJson = new GraphQLScalarType({
  name: 'AnyJson',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literal,
});

@ObjectType()
class SessionView {
  @Field() openid!: string;
  @Field(() => String, { nullable: true }) unionid?: string;
  @Field() appId!: string;
}

@ObjectType()
class ProfileView {
  @Field() openId!: string;
  @Field() city!: string;
  @Field() isDto!: boolean;
  @Field(() => SessionView) session!: SessionView;
}

const profileView = (info: WxUserInfo, session: WxSessionInfo): ProfileView => ({
  openId: info.openId ?? '',
  city: info.city ?? '',
  isDto: info instanceof WxUserInfo,
  session: { ...session },
});

@Resolver()
export class OpenDataResolver {
  @Query(() => String)
  health(): string {
    return 'ok';
  }

  @Query(() => SessionView)
  @WxVerified()
  me(@WxSession() session: WxSessionInfo): SessionView {
    return { ...session };
  }

  /** The envelope in the default argument, `input`. */
  @Mutation(() => ProfileView)
  @WxVerified(WxUserInfo)
  profile(
    @Args('input', { type: () => EnvelopeInput }) _input: EnvelopeInput,
    @WxOpenData() info: WxUserInfo,
    @WxSession() session: WxSessionInfo,
  ): ProfileView {
    return profileView(info, session);
  }

  /** The same with the envelope in an argument the route names, of any JSON shape. */
  @Mutation(() => ProfileView)
  @WxVerified(WxUserInfo, { envelopeArg: 'data' })
  profileFromData(
    @Args('data', { type: () => AnyJson, nullable: true }) _data: unknown,
    @WxOpenData() info: WxUserInfo,
    @WxSession() session: WxSessionInfo,
  ): ProfileView {
    return profileView(info, session);
  }

  /** Two fields of one query: each must see its own payload. */
  @Query(() => ProfileView)
  @WxVerified(WxUserInfo)
  profileQuery(
    @Args('input', { type: () => EnvelopeInput }) _input: EnvelopeInput,
    @WxOpenData() info: WxUserInfo,
    @WxSession() session: WxSessionInfo,
  ): ProfileView {
    return profileView(info, session);
  }
}

/** A real Nest GraphQL app on loopback: Apollo on Express, or Mercurius on Fastify. */
export async function startGraphQLApp(
  driver: GraphQLDriverName,
  logger: LoggerService,
  options: Partial<WxOpenDataModuleOptions> = {},
): Promise<INestApplication> {
  const graphql =
    driver === 'apollo'
      ? GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          autoSchemaFile: true,
        })
      : GraphQLModule.forRoot<MercuriusDriverConfig>({
          driver: MercuriusDriver,
          autoSchemaFile: true,
        });
  const moduleRef = await Test.createTestingModule({
    imports: [
      WxOpenDataModule.forRoot({ apps: [{ appId: APP_ID, appSecret: 'test-secret' }], ...options }),
      graphql,
    ],
    providers: [OpenDataResolver],
  }).compile();
  const app = moduleRef.createNestApplication(
    driver === 'apollo' ? new ExpressAdapter() : new FastifyAdapter(),
    { logger },
  );
  await app.listen(0, '127.0.0.1');
  return app;
}

/** One GraphQL error as both servers send it. */
export interface GraphQLErrorView {
  message: string;
  path?: string[];
  extensions?: Record<string, unknown>;
}

export interface GraphQLReply {
  status: number;
  text: string;
  data: Record<string, unknown> | null;
  errors: GraphQLErrorView[];
}

/** A GraphQL client over real HTTP: POST /graphql with the token as a bearer header. */
export function graphqlClient(app: INestApplication) {
  return async (
    query: string,
    variables: Record<string, unknown> = {},
    token?: string,
  ): Promise<GraphQLReply> => {
    const url = `${await app.getUrl()}/graphql`.replace('[::1]', '127.0.0.1');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const text = await res.text();
    const json = JSON.parse(text) as { data?: Record<string, unknown> | null; errors?: GraphQLErrorView[] };
    return { status: res.status, text, data: json.data ?? null, errors: json.errors ?? [] };
  };
}
